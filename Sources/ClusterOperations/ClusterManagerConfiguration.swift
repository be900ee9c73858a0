import ValkeyRuntime

public struct ClusterManagerConfiguration: Sendable {
    /// The state directory; node data lives under `clusters/`.
    public var home: String
    /// Address nodes and discovery endpoints bind to (loopback by default: the bus is unauthenticated).
    public var bindHost: String
    public var ports: PortAllocator
    /// The auth module and agent socket; nil refuses `AUTH_MODE_IAM_AUTH` clusters.
    public var authModule: AuthModuleConfiguration?
    /// How often node processes are checked (a dead node is restarted).
    public var superviseInterval: Duration
    /// Ports that are never handed to nodes (the API port, say).
    public var reservedPorts: Set<Int>

    public init(home: String, bindHost: String = "127.0.0.1", ports: PortAllocator = PortAllocator(),
                authModule: AuthModuleConfiguration? = nil, superviseInterval: Duration = .milliseconds(500),
                reservedPorts: Set<Int> = []) {
        self.home = home
        self.bindHost = bindHost
        self.ports = ports
        self.authModule = authModule
        self.superviseInterval = superviseInterval
        self.reservedPorts = reservedPorts
    }
}
