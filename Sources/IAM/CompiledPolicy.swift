import CEL

/// A policy prepared for fast, repeated checks: members parsed, roles resolved to
/// permission sets, conditions parsed once. The auth agent keeps one per policy snapshot.
///
/// Anything that does not parse (an unknown member, an invalid condition) can never grant:
/// a stored policy that somehow escaped validation fails closed.
public struct CompiledPolicy: Sendable {
    struct Entry: Sendable {
        let role: String
        let permissions: Set<Permission>
        let members: Set<Principal>
        /// nil: unconditional.
        let condition: CELExpression?
        let conditionIsInvalid: Bool
    }

    let entries: [Entry]
    /// The policy this was compiled from.
    public let policy: Policy

    public init(_ policy: Policy, catalog: RoleCatalog = .predefined) {
        self.policy = policy
        entries = policy.bindings.map { binding in
            var condition: CELExpression?
            var invalid = false
            if let c = binding.condition {
                condition = try? CELExpression.parse(c.expression)
                invalid = condition == nil
            }
            return Entry(
                role: binding.role,
                permissions: catalog.permissions(of: binding.role),
                members: Set(binding.members.compactMap { try? Principal(parsing: $0) }),
                condition: condition,
                conditionIsInvalid: invalid
            )
        }
    }
}
