/// Why a policy, or a change to it, was refused.
///
/// The API maps `etagMismatch` to ABORTED (409) and everything else to INVALID_ARGUMENT
/// (400); `memberNotFound` is what the CLI prints for `remove-iam-policy-binding`.
public enum PolicyError: Error, Sendable, Hashable, CustomStringConvertible {
    case unknownRole(String)
    case invalidMember(member: String, reason: String)
    /// The condition does not parse as supported CEL; `reason` is the CEL message.
    case invalidCondition(expression: String, reason: String)
    case conditionRequiresVersion3(role: String)
    case unsupportedVersion(Int)
    case invalidBinding(String)
    case memberNotFound(member: String, role: String, allConditions: Bool)
    case etagMismatch

    public var message: String {
        switch self {
        case let .unknownRole(role):
            return "Role \(role) is not supported for this resource."
        case let .invalidMember(_, reason):
            return reason
        case let .invalidCondition(_, reason):
            return "Condition expression is invalid: \(reason)"
        case let .conditionRequiresVersion3(role):
            return "The binding for \(role) has a condition; policies with conditions must set version 3."
        case let .unsupportedVersion(v):
            return "Invalid policy version \(v): valid values are 1 and 3."
        case let .invalidBinding(reason):
            return reason
        case let .memberNotFound(_, _, allConditions):
            return allConditions
                ? "Policy bindings with the specified principal and role not found!"
                : "Policy binding with the specified principal, role, and condition not found!"
        case .etagMismatch:
            return "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff."
        }
    }

    public var description: String { message }
}
