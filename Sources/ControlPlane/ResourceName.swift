/// `projects/{project}/locations/{location}/clusters/{cluster}`.
public struct ClusterName: Hashable, Codable, Sendable, CustomStringConvertible {
    public var project: String
    public var location: String
    public var cluster: String

    public init(project: String, location: String, cluster: String) {
        self.project = project
        self.location = location
        self.cluster = cluster
    }

    public var parent: String { "projects/\(project)/locations/\(location)" }
    public var description: String { "\(parent)/clusters/\(cluster)" }

    public init?(_ name: String) {
        let parts = name.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 6, parts[0] == "projects", parts[2] == "locations", parts[4] == "clusters",
              !parts[1].isEmpty, !parts[3].isEmpty, !parts[5].isEmpty else { return nil }
        self.init(project: parts[1], location: parts[3], cluster: parts[5])
    }
}

/// `projects/{project}/locations/{location}/operations/{operation}`.
public struct OperationName: Hashable, Codable, Sendable, CustomStringConvertible {
    public var project: String
    public var location: String
    public var operation: String

    public init(project: String, location: String, operation: String) {
        self.project = project
        self.location = location
        self.operation = operation
    }

    public var description: String { "projects/\(project)/locations/\(location)/operations/\(operation)" }
}
