import CEL

/// The `resource` a condition sees: `resource.name`, `resource.type`, `resource.service`.
public struct ResourceAttributes: Sendable, Hashable {
    /// E.g. `projects/p/locations/us-central1/clusters/a`.
    public var name: String
    /// E.g. `redis.googleapis.com/Cluster`.
    public var type: String
    /// E.g. `redis.googleapis.com`.
    public var service: String

    public init(name: String, type: String, service: String) {
        self.name = name
        self.type = type
        self.service = service
    }

    /// A Memorystore cluster: `projects/P/locations/R/clusters/ID`.
    public static func cluster(project: String, location: String, cluster: String) -> ResourceAttributes {
        ResourceAttributes(name: "projects/\(project)/locations/\(location)/clusters/\(cluster)",
                           type: "redis.googleapis.com/Cluster", service: "redis.googleapis.com")
    }

    /// A project, the resource project-level policies (and `setIamPolicy`) are checked on.
    public static func project(_ project: String) -> ResourceAttributes {
        ResourceAttributes(name: "projects/\(project)",
                           type: "cloudresourcemanager.googleapis.com/Project",
                           service: "cloudresourcemanager.googleapis.com")
    }

    /// A service account: `projects/P/serviceAccounts/EMAIL`.
    public static func serviceAccount(project: String, email: String) -> ResourceAttributes {
        ResourceAttributes(name: "projects/\(project)/serviceAccounts/\(email)",
                           type: "iam.googleapis.com/ServiceAccount", service: "iam.googleapis.com")
    }

    var celValue: CELValue {
        .map(["name": .string(name), "type": .string(type), "service": .string(service)])
    }
}
