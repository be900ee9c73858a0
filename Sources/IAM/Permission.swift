/// An IAM permission, such as `redis.clusters.connect`, spelled exactly as Google does.
public struct Permission: RawRepresentable, Sendable, Hashable, Comparable, Codable,
    ExpressibleByStringLiteral, CustomStringConvertible
{
    public var rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }

    public var description: String { rawValue }

    public static func < (lhs: Permission, rhs: Permission) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

extension Permission {
    // Memorystore for Redis Cluster.
    public static let redisClustersCreate: Permission = "redis.clusters.create"
    public static let redisClustersGet: Permission = "redis.clusters.get"
    public static let redisClustersList: Permission = "redis.clusters.list"
    public static let redisClustersUpdate: Permission = "redis.clusters.update"
    public static let redisClustersDelete: Permission = "redis.clusters.delete"
    public static let redisClustersConnect: Permission = "redis.clusters.connect"
    public static let redisOperationsGet: Permission = "redis.operations.get"
    public static let redisOperationsList: Permission = "redis.operations.list"
    public static let redisOperationsDelete: Permission = "redis.operations.delete"
    public static let redisOperationsCancel: Permission = "redis.operations.cancel"
    public static let redisLocationsGet: Permission = "redis.locations.get"
    public static let redisLocationsList: Permission = "redis.locations.list"

    // Service accounts.
    public static let serviceAccountsCreate: Permission = "iam.serviceAccounts.create"
    public static let serviceAccountsGet: Permission = "iam.serviceAccounts.get"
    public static let serviceAccountsList: Permission = "iam.serviceAccounts.list"
    public static let serviceAccountsDelete: Permission = "iam.serviceAccounts.delete"
    public static let serviceAccountsUpdate: Permission = "iam.serviceAccounts.update"
    public static let serviceAccountsEnable: Permission = "iam.serviceAccounts.enable"
    public static let serviceAccountsDisable: Permission = "iam.serviceAccounts.disable"
    public static let serviceAccountsGetAccessToken: Permission = "iam.serviceAccounts.getAccessToken"
    public static let serviceAccountsActAs: Permission = "iam.serviceAccounts.actAs"
    public static let serviceAccountsGetIamPolicy: Permission = "iam.serviceAccounts.getIamPolicy"
    public static let serviceAccountsSetIamPolicy: Permission = "iam.serviceAccounts.setIamPolicy"
    public static let serviceAccountKeysCreate: Permission = "iam.serviceAccountKeys.create"
    public static let serviceAccountKeysGet: Permission = "iam.serviceAccountKeys.get"
    public static let serviceAccountKeysList: Permission = "iam.serviceAccountKeys.list"
    public static let serviceAccountKeysDelete: Permission = "iam.serviceAccountKeys.delete"

    // Projects.
    public static let projectsGet: Permission = "resourcemanager.projects.get"
    public static let projectsGetIamPolicy: Permission = "resourcemanager.projects.getIamPolicy"
    public static let projectsSetIamPolicy: Permission = "resourcemanager.projects.setIamPolicy"

    /// Every permission Keygate knows, sorted.
    public static let all: [Permission] = [
        redisClustersCreate, redisClustersGet, redisClustersList, redisClustersUpdate, redisClustersDelete,
        redisClustersConnect, redisOperationsGet, redisOperationsList, redisOperationsDelete, redisOperationsCancel,
        redisLocationsGet, redisLocationsList,
        serviceAccountsCreate, serviceAccountsGet, serviceAccountsList, serviceAccountsDelete, serviceAccountsUpdate,
        serviceAccountsEnable, serviceAccountsDisable, serviceAccountsGetAccessToken, serviceAccountsActAs,
        serviceAccountsGetIamPolicy, serviceAccountsSetIamPolicy,
        serviceAccountKeysCreate, serviceAccountKeysGet, serviceAccountKeysList, serviceAccountKeysDelete,
        projectsGet, projectsGetIamPolicy, projectsSetIamPolicy,
    ].sorted()
}
