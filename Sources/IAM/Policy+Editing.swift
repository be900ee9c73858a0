extension Policy {
    /// `add-iam-policy-binding`: adds `member` to the binding with the same role and the same
    /// condition, creating it if needed. Adding a condition raises the version to 3. Adding a
    /// member that is already there changes nothing.
    public func adding(member: Principal, role: String, condition: Condition? = nil) -> Policy {
        var policy = self
        let name = member.description
        if let i = policy.bindings.firstIndex(where: { $0.role == role && $0.condition == condition }) {
            if !policy.bindings[i].members.contains(where: { Policy.sameMember($0, name) }) {
                policy.bindings[i].members.append(name)
            }
        } else {
            policy.bindings.append(Binding(role: role, members: [name], condition: condition))
        }
        if condition != nil { policy.version = 3 }
        return policy
    }

    /// `remove-iam-policy-binding`: removes `member` from the binding with this role and this
    /// condition (or from every binding of the role when `allConditions` is set), dropping
    /// bindings left empty. Removing a member that is not there is an error, as in gcloud.
    public func removing(member: Principal, role: String, condition: Condition? = nil,
                         allConditions: Bool = false) throws(PolicyError) -> Policy {
        var policy = self
        let name = member.description
        var found = false
        for i in policy.bindings.indices where policy.bindings[i].role == role
            && (allConditions || policy.bindings[i].condition == condition)
        {
            let before = policy.bindings[i].members.count
            policy.bindings[i].members.removeAll { Policy.sameMember($0, name) }
            if policy.bindings[i].members.count != before { found = true }
        }
        guard found else {
            throw .memberNotFound(member: name, role: role, allConditions: allConditions)
        }
        policy.bindings.removeAll { $0.members.isEmpty }
        return policy
    }

    /// Members compare by their parsed form, so case differences in emails do not matter.
    static func sameMember(_ stored: String, _ canonical: String) -> Bool {
        ((try? Principal(parsing: stored))?.description ?? stored) == canonical
    }
}
