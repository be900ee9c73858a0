/// Who a policy binding or a token speaks about, in Google's member syntax.
///
/// Emails are lower-cased when parsed, as Google does, so `user:Alice@x.com` and
/// `user:alice@x.com` are the same principal.
public enum Principal: Sendable, Hashable, Comparable, CustomStringConvertible {
    case user(String)
    case serviceAccount(String)
    case group(String)
    /// Anyone, authenticated or not. Also the identity of an unauthenticated caller.
    case allUsers
    /// Anyone with a valid credential.
    case allAuthenticatedUsers

    /// Parses `user:EMAIL`, `serviceAccount:EMAIL`, `group:EMAIL`, `allUsers` or
    /// `allAuthenticatedUsers`.
    public init(parsing text: String) throws(PrincipalError) {
        switch text {
        case "allUsers": self = .allUsers; return
        case "allAuthenticatedUsers": self = .allAuthenticatedUsers; return
        default: break
        }
        guard let colon = text.firstIndex(of: ":") else {
            throw PrincipalError(member: text, message: Principal.formatMessage(text))
        }
        let kind = text[..<colon]
        let email = String(text[text.index(after: colon)...])
        let make: (String) -> Principal
        switch kind {
        case "user": make = Principal.user
        case "serviceAccount": make = Principal.serviceAccount
        case "group": make = Principal.group
        default:
            throw PrincipalError(member: text, message: Principal.formatMessage(text))
        }
        guard Principal.isPlausibleEmail(email) else {
            throw PrincipalError(member: text, message: "Invalid member '\(text)': '\(email)' is not a valid email address.")
        }
        self = make(email.lowercased())
    }

    private static func formatMessage(_ text: String) -> String {
        "Invalid member '\(text)': members must be of the form user:EMAIL, serviceAccount:EMAIL, group:EMAIL, allUsers or allAuthenticatedUsers."
    }

    /// A deliberately loose check: one `@`, a non-empty local part, a dotted domain, and no
    /// characters that could confuse a log line, a header or a CEL string.
    static func isPlausibleEmail(_ email: String) -> Bool {
        guard (3...254).contains(email.utf8.count) else { return false }
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return false }
        let local = parts[0]
        let domain = parts[1]
        guard (1...64).contains(local.utf8.count), !domain.isEmpty else { return false }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2, labels.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 63 }) else { return false }
        let forbidden: Set<Unicode.Scalar> = [" ", ",", ";", ":", "<", ">", "(", ")", "[", "]", "\\", "\"", "'", "/"]
        for scalar in email.unicodeScalars {
            if scalar.value < 0x21 || scalar.value == 0x7F || forbidden.contains(scalar) { return false }
        }
        for scalar in domain.unicodeScalars {
            let ok = ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
                || scalar == "-" || scalar == "."
            if !ok { return false }
        }
        return true
    }

    /// The member string, e.g. `user:owner@keygate.local`.
    public var description: String {
        switch self {
        case let .user(email): "user:\(email)"
        case let .serviceAccount(email): "serviceAccount:\(email)"
        case let .group(email): "group:\(email)"
        case .allUsers: "allUsers"
        case .allAuthenticatedUsers: "allAuthenticatedUsers"
        }
    }

    /// The email of a user, service account or group.
    public var email: String? {
        switch self {
        case let .user(e), let .serviceAccount(e), let .group(e): e
        case .allUsers, .allAuthenticatedUsers: nil
        }
    }

    /// Whether a binding naming `member` applies to this principal (given the groups it is in).
    public func isMatched(by member: Principal, groups: Set<Principal> = []) -> Bool {
        switch member {
        case .allUsers: return true
        case .allAuthenticatedUsers: return self != .allUsers
        case .group: return self == member || groups.contains(member)
        default: return self == member
        }
    }

    public static func < (lhs: Principal, rhs: Principal) -> Bool {
        lhs.description < rhs.description
    }
}

extension Principal: LosslessStringConvertible {
    public init?(_ description: String) {
        guard let p = try? Principal(parsing: description) else { return nil }
        self = p
    }
}

extension Principal: Codable {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        self = try Principal(parsing: text)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
