import Foundation

/// A long-running operation (`google.longrunning.Operation`) as the control plane stores it.
public struct OperationRecord: Codable, Sendable, Equatable {
    public enum Verb: String, Codable, Sendable { case create, delete, update }

    public var name: OperationName
    public var target: String
    public var verb: Verb
    public var createTime: Date
    public var endTime: Date?
    public var statusMessage: String?
    public var done: Bool
    public var error: APIError?
    /// The cluster as it stood when the operation finished (Google returns it as `response`).
    public var response: ClusterRecord?

    public init(name: OperationName, target: String, verb: Verb, createTime: Date) {
        self.name = name
        self.target = target
        self.verb = verb
        self.createTime = createTime
        self.done = false
    }
}

extension APIError: Codable {
    private enum CodingKeys: String, CodingKey { case status, message }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(try c.decode(Status.self, forKey: .status), try c.decode(String.self, forKey: .message))
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(status, forKey: .status)
        try c.encode(message, forKey: .message)
    }
}
