/// The roles a policy may grant, by name.
///
/// `predefined` follows Google's roles as documented for Memorystore for Redis Cluster, IAM
/// and Resource Manager, restricted to the permissions Keygate implements. Notably only
/// `roles/owner`, `roles/redis.admin` and `roles/redis.dbConnectionUser` hold
/// `redis.clusters.connect`; `roles/redis.editor` cannot create, delete or connect.
public struct RoleCatalog: Sendable {
    private let byName: [String: Role]

    public init(roles: [Role]) {
        byName = Dictionary(roles.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
    }

    /// All roles, sorted by name.
    public var roles: [Role] { byName.values.sorted { $0.name < $1.name } }

    public func role(named name: String) -> Role? { byName[name] }

    public func contains(_ name: String) -> Bool { byName[name] != nil }

    /// The permissions of `name`, or none for an unknown role.
    public func permissions(of name: String) -> Set<Permission> {
        Set(byName[name]?.includedPermissions ?? [])
    }

    /// Roles that include `permission`, sorted by name.
    public func roles(granting permission: Permission) -> [Role] {
        roles.filter { $0.grants(permission) }
    }

    /// A catalog with `role` added or replaced (for custom roles).
    public func adding(_ role: Role) -> RoleCatalog {
        RoleCatalog(roles: Array(byName.values) + [role])
    }
}

extension RoleCatalog {
    public static let predefined: RoleCatalog = {
        typealias P = Permission
        let redisRead: [P] = [.redisClustersGet, .redisClustersList, .redisOperationsGet, .redisOperationsList,
                              .redisLocationsGet, .redisLocationsList, .projectsGet]
        let redisAll: [P] = redisRead + [.redisClustersCreate, .redisClustersUpdate, .redisClustersDelete,
                                         .redisClustersConnect, .redisOperationsDelete, .redisOperationsCancel]
        let serviceAccountRead: [P] = [.serviceAccountsGet, .serviceAccountsList]
        let keyRead: [P] = [.serviceAccountKeysGet, .serviceAccountKeysList]
        let viewer: [P] = redisRead + serviceAccountRead + keyRead
            + [.serviceAccountsGetIamPolicy, .projectsGet, .projectsGetIamPolicy]
        // Basic Editor: everything but IAM policy changes, connecting and minting tokens.
        let editor: [P] = viewer + redisAll.filter { $0 != .redisClustersConnect } + [
            .serviceAccountsCreate, .serviceAccountsDelete, .serviceAccountsUpdate, .serviceAccountsEnable,
            .serviceAccountsDisable, .serviceAccountsActAs,
            .serviceAccountKeysCreate, .serviceAccountKeysDelete,
        ]

        return RoleCatalog(roles: [
            Role(name: "roles/owner", title: "Owner",
                 description: "Full access to most Google Cloud resources. See the list of included permissions.",
                 includedPermissions: Permission.all),
            Role(name: "roles/editor", title: "Editor",
                 description: "View, create, update, and delete most Google Cloud resources. See the list of included permissions.",
                 includedPermissions: editor),
            Role(name: "roles/viewer", title: "Viewer",
                 description: "View most Google Cloud resources. See the list of included permissions.",
                 includedPermissions: viewer),
            Role(name: "roles/redis.admin", title: "Cloud Memorystore Redis Admin",
                 description: "Full access to Redis instances and related resources.",
                 includedPermissions: redisAll),
            Role(name: "roles/redis.editor", title: "Cloud Memorystore Redis Editor",
                 description: "Manage Memorystore for Redis instances. Can't create or delete instances.",
                 includedPermissions: redisAll.filter {
                     ![.redisClustersCreate, .redisClustersDelete, .redisClustersConnect].contains($0)
                 }),
            Role(name: "roles/redis.viewer", title: "Cloud Memorystore Redis Viewer",
                 description: "Read-only access to Memorystore for Redis resources.",
                 includedPermissions: redisRead),
            Role(name: "roles/redis.dbConnectionUser", title: "Cloud Memorystore Redis Db Connection User",
                 description: "Role that can be granted to a service account or a user to connect to a Memorystore for Redis cluster using IAM authentication.",
                 includedPermissions: [.redisClustersConnect]),
            Role(name: "roles/iam.serviceAccountAdmin", title: "Service Account Admin",
                 description: "Create and manage service accounts.",
                 includedPermissions: serviceAccountRead + [
                     .serviceAccountsCreate, .serviceAccountsDelete, .serviceAccountsUpdate, .serviceAccountsEnable,
                     .serviceAccountsDisable, .serviceAccountsGetIamPolicy, .serviceAccountsSetIamPolicy, .projectsGet,
                 ]),
            Role(name: "roles/iam.serviceAccountKeyAdmin", title: "Service Account Key Admin",
                 description: "Create and manage (and rotate) service account keys.",
                 includedPermissions: serviceAccountRead + keyRead
                     + [.serviceAccountKeysCreate, .serviceAccountKeysDelete, .projectsGet]),
            Role(name: "roles/iam.serviceAccountTokenCreator", title: "Service Account Token Creator",
                 description: "Impersonate service accounts (create OAuth2 access tokens, sign blobs or JWTs, etc).",
                 includedPermissions: serviceAccountRead + [.serviceAccountsGetAccessToken, .projectsGet]),
            Role(name: "roles/iam.serviceAccountUser", title: "Service Account User",
                 description: "Run operations as the service account.",
                 includedPermissions: serviceAccountRead + [.serviceAccountsActAs, .projectsGet]),
            Role(name: "roles/resourcemanager.projectIamAdmin", title: "Project IAM Admin",
                 description: "Provides permissions to administer allow policies on projects.",
                 includedPermissions: [.projectsGet, .projectsGetIamPolicy, .projectsSetIamPolicy]),
        ])
    }()
}
