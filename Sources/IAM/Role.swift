/// A role in the shape of Google's IAM `Role` resource (`roles.get` / `roles.list`).
public struct Role: Sendable, Hashable, Codable {
    /// E.g. `roles/redis.dbConnectionUser`.
    public var name: String
    public var title: String
    public var description: String
    /// Sorted permission names.
    public var includedPermissions: [Permission]
    public var stage: String
    public var etag: String

    public init(name: String, title: String, description: String, includedPermissions: [Permission],
                stage: String = "GA", etag: String = "AA==") {
        self.name = name
        self.title = title
        self.description = description
        self.includedPermissions = Array(Set(includedPermissions)).sorted()
        self.stage = stage
        self.etag = etag
    }

    public func grants(_ permission: Permission) -> Bool {
        includedPermissions.contains(permission)
    }
}
