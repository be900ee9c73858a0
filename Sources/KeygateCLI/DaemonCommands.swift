import ArgumentParser
import ControlPlane
import Foundation
import LocalProcess

struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Start keygated (the local cloud) in the background; does nothing if it already runs.")

    @Option(help: "API port (0 picks a free port).")
    var port = 8787

    @Option(name: .customLong("valkey-server"), help: "Path of valkey-server (default: .deps/, then PATH).")
    var valkeyServer: String?

    @Option(help: "Seconds to wait for keygated to answer.")
    var timeout = 60.0

    @Option(name: .customLong("auth-module"), help: "Path of keygate-iam.so (default: Module/ of the build).")
    var authModule: String?

    @Option(help: "Seconds until IAM policy changes reach logins (default 10).")
    var propagationInterval: Double?

    @Option(help: "IAM checks per second before logins get ERR_IAM_EXHAUSTED (0 refuses all).")
    var iamCheckRate: Double?

    @Flag(help: "Answer every uncached IAM login with ERR_IAM_OTHER, to test clients' backoff.")
    var simulateIamFailure = false

    @Option(help: "Seconds after its last successful AUTH that an IAM connection is closed (default 43200 = 12 h; 0 = never).")
    var connectionAgeLimit: Double?

    func run() async throws {
        var context = CLIContext(path: "keygate.up")
        let env = context.environment
        if let running = env.runningDaemon() {
            print("keygated is already running (pid \(running.pid)) at \(running.endpoint)")
            try await adoptDefaults(&context, endpoint: running.endpoint)
            return
        }
        let daemonPath = try Self.siblingExecutable("keygated")
        try FileManager.default.createDirectory(atPath: "\(env.home)/logs", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try? FileManager.default.removeItem(atPath: env.endpointFile)
        var arguments = ["--home", env.home, "--port", String(port)]
        if let valkeyServer { arguments += ["--valkey-server", valkeyServer] }
        if let authModule { arguments += ["--auth-module", authModule] }
        if let propagationInterval { arguments += ["--propagation-interval", String(propagationInterval)] }
        if let iamCheckRate { arguments += ["--iam-check-rate", String(iamCheckRate)] }
        if simulateIamFailure { arguments.append("--simulate-iam-failure") }
        if let connectionAgeLimit { arguments += ["--connection-age-limit", String(connectionAgeLimit)] }
        let logStart = (try? FileManager.default.attributesOfItem(atPath: env.logFile)[.size] as? Int) ?? 0
        let pid = try ProcessLauncher.spawn(executable: daemonPath, arguments: arguments, logPath: env.logFile)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            // Ready: the API answers and the clusters from the last run are back and healthy.
            if let running = env.runningDaemon(), running.pid == pid,
               let info = try? await APIClient(endpoint: running.endpoint).get("/keygate/v1/info"), info["ready"] == .bool(true) {
                print("keygated is running (pid \(pid)).")
                print("API endpoint: \(running.endpoint)")
                try await adoptDefaults(&context, endpoint: running.endpoint)
                print("Logs: \(env.logFile)")
                return
            }
            if !ProcessLiveness.isRunning(pid) {
                throw CLIError("keygated exited during start:\n\(Self.logTail(env.logFile, from: logStart))")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw CLIError("keygated did not answer within \(Int(timeout)) s; see \(env.logFile)")
    }

    /// First start: take the daemon's default project and owner account as the CLI's properties.
    private func adoptDefaults(_ context: inout CLIContext, endpoint: String) async throws {
        let info = try await APIClient(endpoint: endpoint).get("/keygate/v1/info")
        if try context.config.get("project") == nil, let p = info["defaultProject"]?.stringValue {
            try context.config.set("project", p)
        }
        if try context.config.get("account") == nil, let a = info["ownerAccount"]?.stringValue {
            try context.config.set("account", a)
        }
        // The owner's refresh token, so `keygate auth print-access-token` works right away.
        if let owner = info["ownerAccount"]?.stringValue, context.credentialStore.credential(for: owner) == nil,
           let data = FileManager.default.contents(atPath: context.environment.ownerCredentialsFile),
           let credential = try? JSONValue.parse(data) {
            var store = context.credentialStore
            try store.setCredential(credential, for: owner)
        }
        print("Project: \(try context.config.get("project") ?? "(unset)")  Account: \(try context.config.get("account") ?? "(unset)")")
    }

    static func siblingExecutable(_ name: String) throws -> String {
        let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let candidate = me.deletingLastPathComponent().appendingPathComponent(name).path
        guard FileManager.default.isExecutableFile(atPath: candidate) else {
            throw CLIError("\(name) not found next to keygate (\(candidate)); build it with `swift build`.")
        }
        return candidate
    }

    static func logTail(_ path: String, from offset: Int) -> String {
        guard let data = FileManager.default.contents(atPath: path) else { return "(no log)" }
        let text = String(decoding: data.dropFirst(offset), as: UTF8.self)
        return text.split(separator: "\n").suffix(10).joined(separator: "\n")
    }
}

struct DownCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "down",
        abstract: "Stop keygated and every Valkey node it runs; clusters come back with `keygate up`.")

    @Option(help: "Seconds to wait before killing keygated.")
    var timeout = 60.0

    func run() async throws {
        let context = CLIContext(path: "keygate.down")
        guard let running = context.environment.runningDaemon() else {
            print("keygated is not running.")
            return
        }
        kill(running.pid, SIGTERM)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline, ProcessLiveness.isRunning(running.pid) {
            try await Task.sleep(for: .milliseconds(100))
        }
        if ProcessLiveness.isRunning(running.pid) {
            await ProcessLiveness.terminate(running.pid, grace: 0)
            throw CLIError("keygated did not stop within \(Int(timeout)) s and was killed; some nodes may still run.")
        }
        print("Stopped keygated (pid \(running.pid)) and its Valkey nodes.")
    }
}

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show whether keygated runs, and where.")

    func run() async throws {
        let context = CLIContext(path: "keygate.status")
        guard let running = context.environment.runningDaemon() else {
            print("keygated is not running (home \(context.environment.home)).")
            throw ExitCode(3)
        }
        let info = try await APIClient(endpoint: running.endpoint).get("/keygate/v1/info")
        print("keygated is running (pid \(running.pid)) at \(running.endpoint)")
        print("Valkey \(info["valkeyVersion"]?.stringValue ?? "?"), home \(context.environment.home)")
    }
}

struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "View and set properties (project, account, redis/region), like gcloud config.",
        subcommands: [GetValue.self, Set.self, Unset.self, List.self])

    struct GetValue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "get-value", abstract: "Print the value of a property.")
        @Argument(help: "project, account or redis/region") var property: String
        func run() async throws {
            let context = CLIContext(path: "keygate.config.get-value")
            if let value = try context.config.get(property) {
                print(value)
            } else {
                FileHandle.standardError.write(Data("(unset)\n".utf8))
            }
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set", abstract: "Set a property.")
        @Argument var property: String
        @Argument var value: String
        func run() async throws {
            var context = CLIContext(path: "keygate.config.set")
            try context.config.set(property, value)
            FileHandle.standardError.write(Data("Updated property [\(try CLIConfig.canonicalKey(property))].\n".utf8))
        }
    }

    struct Unset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "unset", abstract: "Unset a property.")
        @Argument var property: String
        func run() async throws {
            var context = CLIContext(path: "keygate.config.unset")
            try context.config.set(property, nil)
            FileHandle.standardError.write(Data("Unset property [\(try CLIConfig.canonicalKey(property))].\n".utf8))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the properties that are set.")
        func run() async throws {
            let context = CLIContext(path: "keygate.config.list")
            var sections: [String: [(String, String)]] = [:]
            for (key, value) in context.config.values {
                let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
                sections[parts[0], default: []].append((parts[1], value))
            }
            for section in sections.keys.sorted() {
                print("[\(section)]")
                for (k, v) in sections[section]!.sorted(by: { $0.0 < $1.0 }) { print("\(k) = \(v)") }
            }
        }
    }
}
