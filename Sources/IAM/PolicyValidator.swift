import CEL

/// Checks a policy before it is stored: every role known, every member well-formed, every
/// condition valid CEL within the supported subset (never silently ignored), conditions
/// only in version 3 policies.
public struct PolicyValidator: Sendable {
    /// Google's limit on principals in one policy.
    public static let maxMembers = 1500
    public static let maxConditionTitleLength = 100
    public static let maxConditionDescriptionLength = 256

    public var catalog: RoleCatalog

    public init(catalog: RoleCatalog = .predefined) {
        self.catalog = catalog
    }

    public func validate(_ policy: Policy) throws(PolicyError) {
        guard policy.version == 1 || policy.version == 3 else {
            throw .unsupportedVersion(policy.version)
        }
        var memberCount = 0
        for binding in policy.bindings {
            guard !binding.role.isEmpty else { throw .invalidBinding("Each binding must name a role.") }
            guard catalog.contains(binding.role) else { throw .unknownRole(binding.role) }
            guard !binding.members.isEmpty else {
                throw .invalidBinding("The binding for \(binding.role) has no members.")
            }
            for member in binding.members {
                let principal: Principal
                do {
                    principal = try Principal(parsing: member)
                } catch {
                    throw .invalidMember(member: member, reason: error.message)
                }
                // Public principals must never own a project.
                if binding.role == "roles/owner", principal == .allUsers || principal == .allAuthenticatedUsers {
                    throw .invalidMember(member: member, reason: "\(member) cannot be granted roles/owner.")
                }
            }
            memberCount += binding.members.count
            if let condition = binding.condition {
                guard policy.version == 3 else { throw .conditionRequiresVersion3(role: binding.role) }
                _ = try validate(condition)
            }
        }
        if memberCount > PolicyValidator.maxMembers {
            throw .invalidBinding("The policy has \(memberCount) members; the limit is \(PolicyValidator.maxMembers).")
        }
    }

    /// Parses a condition, or explains why it cannot be used.
    public func validate(_ condition: Policy.Condition) throws(PolicyError) -> CELExpression {
        guard let title = condition.title, !title.isEmpty else {
            throw .invalidBinding("A condition must have a title.")
        }
        guard title.count <= PolicyValidator.maxConditionTitleLength else {
            throw .invalidBinding("A condition title must be at most \(PolicyValidator.maxConditionTitleLength) characters.")
        }
        if let description = condition.description, description.count > PolicyValidator.maxConditionDescriptionLength {
            throw .invalidBinding("A condition description must be at most \(PolicyValidator.maxConditionDescriptionLength) characters.")
        }
        do {
            return try CELExpression.parse(condition.expression)
        } catch {
            throw .invalidCondition(expression: condition.expression, reason: error.description)
        }
    }
}
