import Foundation
import ValkeyRuntime

/// Settings of one keygated, with the defaults a local cloud needs.
public struct DaemonConfiguration: Sendable {
    /// State directory (`$KEYGATE_HOME`): database, node data, logs, the daemon's endpoint file.
    public var home: String
    /// API listen address; loopback by default.
    public var host: String
    /// API port; 0 picks a free one. Default 8787.
    public var port: Int
    /// An explicit valkey-server; nil searches `.deps/` and `PATH`.
    public var valkeyServer: String?
    /// Project created on first start.
    public var defaultProject: String
    /// Owner account created on first start.
    public var ownerAccount: String
    public var nodePorts: Range<Int>
    /// The Valkey auth module; nil searches `Module/keygate-iam.so` above the executable.
    public var authModulePath: String?
    /// How soon IAM changes reach logins (the agent's snapshot age and the module's verdict cache).
    public var propagationInterval: Duration = .seconds(10)
    /// IAM checks per second before logins get ERR_IAM_EXHAUSTED; 0 refuses all.
    public var iamCheckRate: Double = 10_000
    /// Answer every uncached login with ERR_IAM_OTHER (to exercise clients' backoff).
    public var simulateIAMFailure = false
    /// Close an IAM connection this long after its last successful AUTH; 0 = never. Default 12 h.
    public var connectionAgeLimit: Duration = .seconds(12 * 3600)
    /// Deadline of one module → agent call.
    public var agentTimeout: Duration = .seconds(2)

    public init(home: String, host: String = "127.0.0.1", port: Int = 8787, valkeyServer: String? = nil,
                defaultProject: String = "keygate-local", ownerAccount: String = "owner@keygate.local",
                nodePorts: Range<Int> = 17_000..<30_000) {
        self.home = home
        self.host = host
        self.port = port
        self.valkeyServer = valkeyServer
        self.defaultProject = defaultProject
        self.ownerAccount = ownerAccount
        self.nodePorts = nodePorts
    }

    public var databasePath: String { "\(home)/state.sqlite" }
    public var agentSocketPath: String { "\(home)/agent.sock" }
    /// The owner's refresh token, for the CLI on the same machine (mode 0600).
    public var ownerCredentialsPath: String { "\(home)/owner-credentials.json" }
    /// Written once the API listens: `{"endpoint": ..., "pid": ...}`; the CLI reads it.
    public var endpointFilePath: String { "\(home)/keygated.json" }
}
