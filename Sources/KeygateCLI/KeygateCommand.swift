import ArgumentParser
import Foundation

/// `keygate`: the gcloud-shaped command line of Keygate.
public struct KeygateCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "keygate",
        abstract: "Memorystore-style Valkey clusters with IAM authentication, on your own machine.",
        discussion: "State lives in $KEYGATE_HOME (default ~/.keygate). Start the local cloud with `keygate up`.",
        subcommands: [UpCommand.self, DownCommand.self, StatusCommand.self, ConfigCommand.self, AuthCommand.self,
                      RedisCommand.self, IAMCommand.self, ProjectsCommand.self])

    public init() {}

    /// Runs the CLI, printing failures the way gcloud does: `ERROR: (keygate.group.command) message`.
    public static func runMain() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as CLIError {
            FileHandle.standardError.write(Data("ERROR: (\(CommandPath.current)) \(error.description)\n".utf8))
            Foundation.exit(1)
        } catch {
            exit(withError: error)
        }
    }
}

/// The dotted path of the running command, for error lines (`keygate.redis.clusters.create`).
enum CommandPath {
    nonisolated(unsafe) static var current = "keygate"
}

/// Options most commands share.
struct GlobalOptions: ParsableArguments {
    @Option(help: "The project to use (default: the `project` property).")
    var project: String?

    @Option(help: "Output format: table, json, yaml or value(FIELD,…).")
    var format: String?

    func resolvedProject(_ config: CLIConfig) throws -> String {
        if let project { return project }
        if let p = try config.get("project") { return p }
        throw CLIError("The required property [project] is not currently set. Set it with `keygate config set project PROJECT` or pass --project.")
    }

    var printer: ResourcePrinter {
        get throws { ResourcePrinter(format: try OutputFormat(format)) }
    }
}

/// Shared plumbing for commands that call the API.
struct CLIContext {
    let environment = CLIEnvironment()
    var config: CLIConfig

    init(path: String) {
        CommandPath.current = path
        config = CLIConfig(path: environment.configFile)
    }

    var credentialStore: CredentialStore { CredentialStore(path: environment.credentialsFile) }

    /// An API client carrying the active account's access token.
    func client() async throws -> APIClient {
        let endpoint = try environment.endpoint()
        guard let account = try config.get("account") else {
            throw CLIError("You do not currently have an active account selected. Run `keygate config set account ACCOUNT`.")
        }
        var provider = AccessTokenProvider(store: credentialStore, endpoint: endpoint)
        return APIClient(endpoint: endpoint, accessToken: try await provider.token(for: account))
    }
}
