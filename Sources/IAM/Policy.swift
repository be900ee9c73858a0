#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// An IAM allow policy in Google's exact JSON shape:
/// `{"version": 3, "etag": "...", "bindings": [{"role", "members", "condition"}]}`.
///
/// Members are kept as the strings the client sent, so that `PolicyValidator` can name a bad
/// one in its error instead of the JSON decoder failing on it.
public struct Policy: Sendable, Hashable, Codable {
    /// 1 for policies without conditions, 3 when any binding has a condition.
    public var version: Int
    public var etag: String?
    public var bindings: [Binding]

    public init(version: Int = 1, etag: String? = nil, bindings: [Binding] = []) {
        self.version = version
        self.etag = etag
        self.bindings = bindings
    }

    public struct Binding: Sendable, Hashable, Codable {
        public var role: String
        public var members: [String]
        public var condition: Condition?

        public init(role: String, members: [String], condition: Condition? = nil) {
            self.role = role
            self.members = members
            self.condition = condition
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            role = try c.decodeIfPresent(String.self, forKey: .role) ?? ""
            members = try c.decodeIfPresent([String].self, forKey: .members) ?? []
            condition = try c.decodeIfPresent(Condition.self, forKey: .condition)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(role, forKey: .role)
            if !members.isEmpty { try c.encode(members, forKey: .members) }
            try c.encodeIfPresent(condition, forKey: .condition)
        }

        private enum CodingKeys: String, CodingKey { case role, members, condition }
    }

    /// A binding's condition (Google's `Expr`).
    public struct Condition: Sendable, Hashable, Codable {
        public var expression: String
        public var title: String?
        public var description: String?

        public init(expression: String, title: String? = nil, description: String? = nil) {
            self.expression = expression
            self.title = title
            self.description = description
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            expression = try c.decodeIfPresent(String.self, forKey: .expression) ?? ""
            title = try c.decodeIfPresent(String.self, forKey: .title)
            description = try c.decodeIfPresent(String.self, forKey: .description)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(expression, forKey: .expression)
            try c.encodeIfPresent(title, forKey: .title)
            try c.encodeIfPresent(description, forKey: .description)
        }

        private enum CodingKeys: String, CodingKey { case expression, title, description }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        // Google treats a missing (0) version as 1.
        let v = try c.decodeIfPresent(Int.self, forKey: .version) ?? 1
        version = v == 0 ? 1 : v
        etag = try c.decodeIfPresent(String.self, forKey: .etag)
        bindings = try c.decodeIfPresent([Binding].self, forKey: .bindings) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(version, forKey: .version)
        try c.encodeIfPresent(etag, forKey: .etag)
        if !bindings.isEmpty { try c.encode(bindings, forKey: .bindings) }
    }

    private enum CodingKeys: String, CodingKey { case version, etag, bindings }

    /// Whether any binding is conditional.
    public var hasConditions: Bool { bindings.contains { $0.condition != nil } }
}
