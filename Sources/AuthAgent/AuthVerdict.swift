/// The agent's answer to one login, as the module protocol spells it (Module/PROTOCOL.md).
public enum AuthVerdict: Sendable, Equatable {
    /// Log in; the module may reuse this verdict for `cacheMilliseconds` for the same token.
    case allow(cacheMilliseconds: Int, principal: String)
    /// Wrong, expired, forged, revoked, malformed token, or no permission: WRONGPASS.
    case wrong
    /// The IAM check rate is exceeded: ERR_IAM_EXHAUSTED.
    case exhausted
    /// IAM failed or is unreachable: ERR_IAM_OTHER.
    case other

    public var line: String {
        switch self {
        case .allow(let ms, let principal): "ALLOW \(max(0, ms)) \(principal)\n"
        case .wrong: "WRONG\n"
        case .exhausted: "EXHAUSTED\n"
        case .other: "OTHER\n"
        }
    }
}

/// Who decides logins: token verification plus the permission check. Synchronous and CPU-only,
/// so the agent answers on the connection's event loop without a task hop.
public protocol LoginDecider: Sendable {
    func decide(cluster: String, token: String) -> AuthVerdict
}

/// One parsed request line: `AUTH <cluster> <token>`.
public struct AuthRequest: Sendable, Equatable {
    public var cluster: String
    public var token: String

    public static let maxLineLength = 1024 + 16384 + 8

    public init?(line: Substring) {
        let parts = line.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "AUTH", !parts[1].isEmpty, !parts[2].isEmpty else { return nil }
        cluster = String(parts[1])
        token = String(parts[2])
    }
}
