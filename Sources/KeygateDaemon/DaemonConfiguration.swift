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
    /// Written once the API listens: `{"endpoint": ..., "pid": ...}`; the CLI reads it.
    public var endpointFilePath: String { "\(home)/keygated.json" }
}
