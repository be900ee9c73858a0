#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import CEL

/// Decides whether a principal holds a permission on a resource under a policy.
///
/// A binding grants when its role includes the permission, one of its members matches the
/// principal (directly, through `allUsers`/`allAuthenticatedUsers`, or through a group the
/// caller says the principal is in), and its condition, if any, evaluates to `true`. A
/// condition that errors counts as false, as in Google IAM.
public struct PolicyEvaluator: Sendable {
    /// The attribute the limited-IAM-admin pattern reads.
    public static let modifiedGrantsByRoleAttribute = "iam.googleapis.com/modifiedGrantsByRole"

    public var catalog: RoleCatalog

    public init(catalog: RoleCatalog = .predefined) {
        self.catalog = catalog
    }

    /// - Parameters:
    ///   - groups: the groups `principal` belongs to (group bindings only match through these).
    ///   - requestTime: what `request.time` evaluates to; when nil, conditions that read it
    ///     fail (and so do not grant).
    public func isAllowed(principal: Principal, permission: Permission, resource: ResourceAttributes,
                          policy: Policy, groups: Set<Principal> = [], requestTime: Date? = nil) -> Bool {
        isAllowed(principal: principal, permission: permission, resource: resource,
                  policy: CompiledPolicy(policy, catalog: catalog), groups: groups, requestTime: requestTime)
    }

    /// The fast path for a policy compiled once.
    public func isAllowed(principal: Principal, permission: Permission, resource: ResourceAttributes,
                          policy: CompiledPolicy, groups: Set<Principal> = [], requestTime: Date? = nil,
                          attributes: [String: CELValue] = [:]) -> Bool {
        var activation: CELActivation?
        for entry in policy.entries where entry.permissions.contains(permission) {
            guard entry.members.contains(where: { principal.isMatched(by: $0, groups: groups) }) else { continue }
            if entry.conditionIsInvalid { continue }
            guard let condition = entry.condition else { return true }
            if activation == nil {
                activation = PolicyEvaluator.activation(resource: resource, requestTime: requestTime, attributes: attributes)
            }
            if condition.isSatisfied(by: activation!) { return true }
        }
        return false
    }

    /// The subset of `permissions` the principal holds, in the order given
    /// (`testIamPermissions`).
    public func allowedPermissions(_ permissions: [Permission], principal: Principal, resource: ResourceAttributes,
                                   policy: CompiledPolicy, groups: Set<Principal> = [],
                                   requestTime: Date? = nil) -> [Permission] {
        permissions.filter {
            isAllowed(principal: principal, permission: $0, resource: resource, policy: policy,
                      groups: groups, requestTime: requestTime)
        }
    }

    /// Whether `principal` may replace `old` with `new`: `resourcemanager.projects.setIamPolicy`
    /// on `resource` under `policy` (normally `old` itself), with
    /// `iam.googleapis.com/modifiedGrantsByRole` set to the roles whose grants differ. This
    /// is what lets `projectIamAdmin` with a `hasOnly([...])` condition grant only some roles.
    public func isAllowedToSetPolicy(principal: Principal, old: Policy, new: Policy, policy: Policy,
                                     resource: ResourceAttributes, groups: Set<Principal> = [],
                                     requestTime: Date? = nil) -> Bool {
        let modified = PolicyEvaluator.modifiedGrantsByRole(old: old, new: new)
        return isAllowed(
            principal: principal, permission: .projectsSetIamPolicy, resource: resource,
            policy: CompiledPolicy(policy, catalog: catalog), groups: groups, requestTime: requestTime,
            attributes: [PolicyEvaluator.modifiedGrantsByRoleAttribute: .list(modified.map { .string($0) })]
        )
    }

    /// Roles whose grants differ between the two policies: a member added or removed, or a
    /// binding's condition changed. Sorted.
    public static func modifiedGrantsByRole(old: Policy, new: Policy) -> [String] {
        struct Grant: Hashable { let role: String; let member: String; let condition: Policy.Condition? }
        func grants(_ p: Policy) -> Set<Grant> {
            var set = Set<Grant>()
            for b in p.bindings {
                for m in b.members {
                    let canonical = (try? Principal(parsing: m))?.description ?? m
                    set.insert(Grant(role: b.role, member: canonical, condition: b.condition))
                }
            }
            return set
        }
        let changed = grants(old).symmetricDifference(grants(new))
        return Set(changed.map(\.role)).sorted()
    }

    static func activation(resource: ResourceAttributes, requestTime: Date?,
                           attributes: [String: CELValue]) -> CELActivation {
        var variables: [String: CELValue] = ["resource": resource.celValue]
        if let requestTime { variables["request"] = .map(["time": .timestamp(requestTime)]) }
        return CELActivation(variables: variables, attributes: attributes)
    }
}
