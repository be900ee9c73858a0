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

    @Option(name: .customLong("auth-module"), help: "Path of keygate-iam.so (default: Module/ of the build).")
    var authModule: String?

    @Option(help: "Seconds until IAM policy changes reach logins (policy snapshot age and verdict cache).")
    var propagationInterval = 10.0

    @Option(help: "IAM checks per second before logins get ERR_IAM_EXHAUSTED (0 refuses all).")
    var iamCheckRate = 10_000.0

    @Flag(help: "Answer every uncached IAM login with ERR_IAM_OTHER, to test clients' backoff.")
    var simulateIamFailure = false

    @Option(help: "Seconds after its last successful AUTH that an IAM connection is closed (0 = never).")
    var connectionAgeLimit = 43_200.0

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
        var configuration = DaemonConfiguration(home: home, host: host, port: port, valkeyServer: valkeyServer)
        configuration.authModulePath = authModule
        configuration.propagationInterval = .milliseconds(Int64(propagationInterval * 1000))
        configuration.iamCheckRate = iamCheckRate
        configuration.simulateIAMFailure = simulateIamFailure
        configuration.connectionAgeLimit = .milliseconds(Int64(connectionAgeLimit * 1000))
        let daemon = KeygateDaemon(configuration: configuration, logger: Logger(label: "keygated"))
        do {
            try await daemon.run()
        } catch let error as KeygateDaemon.StartError {
            FileHandle.standardError.write(Data("keygated: \(error.description)\n".utf8))
            throw ExitCode(2)
        }
    }
}
