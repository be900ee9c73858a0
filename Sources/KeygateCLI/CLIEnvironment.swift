import ControlPlane
import Foundation
import LocalProcess

/// Where the CLI keeps its state: `$KEYGATE_HOME` (default `~/.keygate`), shared with the daemon
/// it starts. The CLI's own settings live in `cli/config.json`, like gcloud's properties.
struct CLIEnvironment {
    let home: String

    init() {
        let env = ProcessInfo.processInfo.environment
        home = env["KEYGATE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? "\(NSHomeDirectory())/.keygate"
    }

    var endpointFile: String { "\(home)/keygated.json" }
    var configFile: String { "\(home)/cli/config.json" }
    var logFile: String { "\(home)/logs/keygated.log" }
    var credentialsFile: String { "\(home)/cli/credentials.json" }
    /// Written by keygated on first start (mode 0600): the owner account's refresh token.
    var ownerCredentialsFile: String { "\(home)/owner-credentials.json" }

    /// The running daemon's endpoint and pid, if its endpoint file names a live process.
    func runningDaemon() -> (endpoint: String, pid: Int32)? {
        guard let data = FileManager.default.contents(atPath: endpointFile),
              let json = try? JSONValue.parse(data),
              let endpoint = json["endpoint"]?.stringValue, let pid = json["pid"]?.intValue,
              ProcessLiveness.isRunning(Int32(pid)) else { return nil }
        return (endpoint, Int32(pid))
    }

    /// The API endpoint: `KEYGATE_API_ENDPOINT` overrides; else the local daemon's.
    func endpoint() throws -> String {
        if let override = ProcessInfo.processInfo.environment["KEYGATE_API_ENDPOINT"], !override.isEmpty { return override }
        guard let daemon = runningDaemon() else {
            throw CLIError("keygated is not running for \(home). Start it with `keygate up`.")
        }
        return daemon.endpoint
    }
}

/// An error the CLI prints as `ERROR: (keygate.…) message` and exits 1 on.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
