/// What a user asks for when creating a cluster: the writable part of Google's `Cluster`.
public struct ClusterSpec: Codable, Sendable, Equatable {
    public var shardCount: Int
    public var replicaCount: Int
    public var nodeType: NodeType
    public var authorizationMode: AuthorizationMode
    public var transitEncryptionMode: TransitEncryptionMode
    /// `projects/P/global/networks/N`.
    public var network: String
    public var persistence: PersistenceConfig
    /// Valkey settings from `--redis-config` (only the keys Memorystore allows).
    public var redisConfigs: [String: String]
    public var deletionProtection: Bool
    public var labels: [String: String]

    public init(
        shardCount: Int,
        replicaCount: Int = 0,
        nodeType: NodeType = .highmemMedium,
        authorizationMode: AuthorizationMode = .disabled,
        transitEncryptionMode: TransitEncryptionMode = .disabled,
        network: String,
        persistence: PersistenceConfig = .disabled,
        redisConfigs: [String: String] = [:],
        deletionProtection: Bool = false,
        labels: [String: String] = [:]
    ) {
        self.shardCount = shardCount
        self.replicaCount = replicaCount
        self.nodeType = nodeType
        self.authorizationMode = authorizationMode
        self.transitEncryptionMode = transitEncryptionMode
        self.network = network
        self.persistence = persistence
        self.redisConfigs = redisConfigs
        self.deletionProtection = deletionProtection
        self.labels = labels
    }

    public var nodeCount: Int { shardCount * (1 + replicaCount) }

    /// Google's `preciseSizeGb`: total memory of every node.
    public var preciseSizeGB: Double { Double(nodeCount) * nodeType.totalGB }
}
