import ArgumentParser
import Foundation
import KeygateDaemon
import Logging

@main
struct Keygated: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygated",
        abstract: "The Keygate daemon: IAM, control plane, discovery endpoints and the auth agent.")

    @Option(help: "State directory (default: $KEYGATE_HOME or ~/.keygate).")
    var home: String?

    @Option(help: "Address the API, nodes and discovery endpoints bind to.")
    var host = "127.0.0.1"

    @Option(help: "API port (0 picks a free port).")
    var port = 8787

    @Option(name: .customLong("valkey-server"), help: "Path of valkey-server (default: .deps/, then PATH).")
    var valkeyServer: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel = "info"

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardOutput(label: label)
            handler.logLevel = level
            return handler
        }
        let home = home ?? ProcessInfo.processInfo.environment["KEYGATE_HOME"] ?? "\(NSHomeDirectory())/.keygate"
        let daemon = KeygateDaemon(
            configuration: DaemonConfiguration(home: home, host: host, port: port, valkeyServer: valkeyServer),
            logger: Logger(label: "keygated"))
        do {
            try await daemon.run()
        } catch let error as KeygateDaemon.StartError {
            FileHandle.standardError.write(Data("keygated: \(error.description)\n".utf8))
            throw ExitCode(2)
        }
    }
}
