import KeygateCLI

await KeygateCommand.runMain()
