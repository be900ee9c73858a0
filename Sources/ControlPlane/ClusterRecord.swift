import Foundation

/// One valkey-server process of a cluster, as the control plane remembers it.
public struct NodeRecord: Codable, Sendable, Equatable {
    public enum Role: String, Codable, Sendable { case primary, replica }

    /// Stable index within the cluster; names the node's data directory.
    public var index: Int
    public var shard: Int
    public var role: Role
    public var port: Int
    /// The cluster bus port (private; the bus has no authentication).
    public var busPort: Int
    /// Valkey's 40-hex node id once the node has started.
    public var nodeID: String?
    /// Process id while running, so a restarted keygated can re-adopt it.
    public var pid: Int32?

    public init(index: Int, shard: Int, role: Role, port: Int, busPort: Int, nodeID: String? = nil, pid: Int32? = nil) {
        self.index = index
        self.shard = shard
        self.role = role
        self.port = port
        self.busPort = busPort
        self.nodeID = nodeID
        self.pid = pid
    }
}

/// The control plane's whole memory of a cluster.
public struct ClusterRecord: Codable, Sendable, Equatable {
    public var name: ClusterName
    public var uid: String
    public var createTime: Date
    public var state: ClusterState
    public var spec: ClusterSpec
    /// The stable discovery endpoint owned by keygated.
    public var discoveryAddress: String
    public var discoveryPort: Int
    public var nodes: [NodeRecord]

    public init(name: ClusterName, uid: String, createTime: Date, state: ClusterState, spec: ClusterSpec,
                discoveryAddress: String, discoveryPort: Int, nodes: [NodeRecord]) {
        self.name = name
        self.uid = uid
        self.createTime = createTime
        self.state = state
        self.spec = spec
        self.discoveryAddress = discoveryAddress
        self.discoveryPort = discoveryPort
        self.nodes = nodes
    }

    public var primaries: [NodeRecord] { nodes.filter { $0.role == .primary } }
}
