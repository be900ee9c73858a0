import CEL
import Foundation
import Testing
@testable import IAM

struct AccessCase: Sendable, CustomTestStringConvertible {
    let role: String
    let condition: Policy.Condition?
    let permission: Permission
    let cluster: String
    let allowed: Bool
    var testDescription: String { "\(role) \(condition == nil ? "" : "(conditional) ")\(permission) on \(cluster) → \(allowed)" }
}

@Suite("Policy evaluation")
struct PolicyEvaluatorTests {
    let evaluator = PolicyEvaluator()
    static let app = Principal.serviceAccount("app@p.iam.gserviceaccount.com")
    static let now = Date(timeIntervalSince1970: 1_750_000_000)

    static let cases: [AccessCase] = [
        .init(role: "roles/redis.dbConnectionUser", condition: nil, permission: .redisClustersConnect, cluster: "a", allowed: true),
        .init(role: "roles/redis.dbConnectionUser", condition: nil, permission: .redisClustersGet, cluster: "a", allowed: false),
        .init(role: "roles/redis.admin", condition: nil, permission: .redisClustersConnect, cluster: "a", allowed: true),
        .init(role: "roles/owner", condition: nil, permission: .redisClustersConnect, cluster: "a", allowed: true),
        .init(role: "roles/redis.editor", condition: nil, permission: .redisClustersConnect, cluster: "a", allowed: false),
        .init(role: "roles/redis.viewer", condition: nil, permission: .redisClustersConnect, cluster: "a", allowed: false),
        .init(role: "roles/editor", condition: nil, permission: .redisClustersConnect, cluster: "a", allowed: false),
        .init(role: "roles/viewer", condition: nil, permission: .redisClustersGet, cluster: "a", allowed: true),
        .init(role: "roles/redis.dbConnectionUser", condition: PolicyFixtures.perClusterCondition, permission: .redisClustersConnect, cluster: "a", allowed: true),
        .init(role: "roles/redis.dbConnectionUser", condition: PolicyFixtures.perClusterCondition, permission: .redisClustersConnect, cluster: "b", allowed: false),
        // A condition that errors (unknown variable) grants nothing.
        .init(role: "roles/redis.dbConnectionUser", condition: .init(expression: "resource.labels.env == 'prod'", title: "t"), permission: .redisClustersConnect, cluster: "a", allowed: false),
        // A stored condition that does not even parse grants nothing.
        .init(role: "roles/redis.dbConnectionUser", condition: .init(expression: "resource.name ==", title: "t"), permission: .redisClustersConnect, cluster: "a", allowed: false),
        .init(role: "roles/redis.dbConnectionUser", condition: .init(expression: "resource.type == 'redis.googleapis.com/Cluster' && resource.service == 'redis.googleapis.com'", title: "t"), permission: .redisClustersConnect, cluster: "a", allowed: true),
        .init(role: "roles/redis.dbConnectionUser", condition: .init(expression: "request.time < timestamp('2030-01-01T00:00:00Z')", title: "t"), permission: .redisClustersConnect, cluster: "a", allowed: true),
        .init(role: "roles/redis.dbConnectionUser", condition: .init(expression: "request.time < timestamp('2020-01-01T00:00:00Z')", title: "t"), permission: .redisClustersConnect, cluster: "a", allowed: false),
        .init(role: "roles/redis.dbConnectionUser", condition: .init(expression: "resource.name.matches('/clusters/(a|c)$')", title: "t"), permission: .redisClustersConnect, cluster: "a", allowed: true),
        .init(role: "roles/redis.dbConnectionUser", condition: .init(expression: "resource.name.matches('/clusters/(a|c)$')", title: "t"), permission: .redisClustersConnect, cluster: "b", allowed: false),
    ]

    @Test(arguments: cases)
    func decides(_ c: AccessCase) {
        let policy = Policy(version: 3, bindings: [.init(role: c.role, members: [Self.app.description], condition: c.condition)])
        let resource = ResourceAttributes.cluster(project: "p", location: "us-central1", cluster: c.cluster)
        #expect(evaluator.isAllowed(principal: Self.app, permission: c.permission, resource: resource, policy: policy,
                                    requestTime: Self.now) == c.allowed)
        // Someone else never benefits from the binding.
        #expect(!evaluator.isAllowed(principal: .user("other@example.com"), permission: c.permission, resource: resource,
                                     policy: policy, requestTime: Self.now))
    }

    @Test func requestTimeIsNeededForTimeConditions() {
        let policy = Policy(version: 3, bindings: [.init(
            role: "roles/redis.dbConnectionUser", members: [Self.app.description],
            condition: .init(expression: "request.time < timestamp('2030-01-01T00:00:00Z')", title: "t"))])
        let resource = ResourceAttributes.cluster(project: "p", location: "r", cluster: "a")
        #expect(!evaluator.isAllowed(principal: Self.app, permission: .redisClustersConnect, resource: resource, policy: policy))
    }

    @Test func anyGrantingBindingSuffices() {
        let policy = Policy(version: 3, bindings: [
            .init(role: "roles/redis.dbConnectionUser", members: [Self.app.description],
                  condition: .init(expression: "resource.name.endsWith('/z')", title: "t")),
            .init(role: "roles/redis.admin", members: [Self.app.description]),
        ])
        #expect(evaluator.isAllowed(principal: Self.app, permission: .redisClustersConnect,
                                    resource: .cluster(project: "p", location: "r", cluster: "a"), policy: policy))
    }

    @Test func publicAndGroupMembers() {
        let resource = ResourceAttributes.cluster(project: "p", location: "r", cluster: "a")
        let authenticated = Policy(bindings: [.init(role: "roles/redis.viewer", members: ["allAuthenticatedUsers"])])
        #expect(evaluator.isAllowed(principal: Self.app, permission: .redisClustersGet, resource: resource, policy: authenticated))
        #expect(!evaluator.isAllowed(principal: .allUsers, permission: .redisClustersGet, resource: resource, policy: authenticated))
        let everyone = Policy(bindings: [.init(role: "roles/redis.viewer", members: ["allUsers"])])
        #expect(evaluator.isAllowed(principal: .allUsers, permission: .redisClustersGet, resource: resource, policy: everyone))

        let group = Principal.group("redis-users@example.com")
        let grouped = Policy(bindings: [.init(role: "roles/redis.dbConnectionUser", members: [group.description])])
        #expect(!evaluator.isAllowed(principal: Self.app, permission: .redisClustersConnect, resource: resource, policy: grouped))
        #expect(evaluator.isAllowed(principal: Self.app, permission: .redisClustersConnect, resource: resource,
                                    policy: grouped, groups: [group]))
    }

    @Test func memberSpellingIsNormalised() {
        let policy = Policy(bindings: [.init(role: "roles/redis.dbConnectionUser", members: ["serviceAccount:APP@p.iam.gserviceaccount.com"])])
        #expect(evaluator.isAllowed(principal: Self.app, permission: .redisClustersConnect,
                                    resource: .cluster(project: "p", location: "r", cluster: "a"), policy: policy))
    }

    @Test func testIamPermissions() {
        let compiled = CompiledPolicy(Policy(bindings: [.init(role: "roles/redis.viewer", members: [Self.app.description])]))
        let asked: [Permission] = [.redisClustersConnect, .redisClustersGet, "made.up.permission", .redisClustersList]
        #expect(evaluator.allowedPermissions(asked, principal: Self.app, resource: .project("p"), policy: compiled)
            == [.redisClustersGet, .redisClustersList])
    }

    // MARK: - setIamPolicy and modifiedGrantsByRole

    static let limitedAdmin = Principal.user("iam-helper@example.com")
    static let base = Policy(version: 3, bindings: [
        .init(role: "roles/owner", members: ["user:owner@keygate.local"]),
        .init(role: "roles/resourcemanager.projectIamAdmin", members: [limitedAdmin.description],
              condition: PolicyFixtures.limitedAdminCondition),
        .init(role: "roles/redis.viewer", members: ["user:viewer@example.com"]),
    ])

    @Test func modifiedGrantsByRole() {
        let new = Self.base
            .adding(member: .user("dev@example.com"), role: "roles/redis.dbConnectionUser")
            .adding(member: .user("dev@example.com"), role: "roles/redis.viewer")
        #expect(PolicyEvaluator.modifiedGrantsByRole(old: Self.base, new: new) == ["roles/redis.dbConnectionUser", "roles/redis.viewer"])
        #expect(PolicyEvaluator.modifiedGrantsByRole(old: Self.base, new: Self.base.normalized()).isEmpty)
        var conditionChanged = Self.base
        conditionChanged.bindings[1].condition?.expression = "true"
        #expect(PolicyEvaluator.modifiedGrantsByRole(old: Self.base, new: conditionChanged) == ["roles/resourcemanager.projectIamAdmin"])
    }

    @Test func limitedAdminMayGrantOnlyDbConnectionUser() throws {
        let project = ResourceAttributes.project("p")
        func allowed(_ new: Policy, by principal: Principal = PolicyEvaluatorTests.limitedAdmin) -> Bool {
            evaluator.isAllowedToSetPolicy(principal: principal, old: Self.base, new: new, policy: Self.base, resource: project)
        }
        let grant = Self.base.adding(member: .user("dev@example.com"), role: "roles/redis.dbConnectionUser")
        #expect(allowed(grant))
        let conditionalGrant = Self.base.adding(member: .user("dev@example.com"), role: "roles/redis.dbConnectionUser",
                                                condition: PolicyFixtures.perClusterCondition)
        #expect(allowed(conditionalGrant))
        #expect(!allowed(Self.base.adding(member: .user("dev@example.com"), role: "roles/owner")))
        #expect(!allowed(grant.adding(member: .user("dev@example.com"), role: "roles/redis.admin")))
        #expect(!allowed(try Self.base.removing(member: .user("viewer@example.com"), role: "roles/redis.viewer")))
        // Nor may they loosen their own condition.
        var widened = Self.base
        widened.bindings[1].condition = nil
        #expect(!allowed(widened))
        // The owner may do anything; a stranger nothing.
        #expect(allowed(Self.base.adding(member: .user("dev@example.com"), role: "roles/owner"), by: .user("owner@keygate.local")))
        #expect(!allowed(grant, by: .user("dev@example.com")))
        // Reading the policy is not limited by the attribute (its default [] has only allowed roles).
        #expect(evaluator.isAllowed(principal: Self.limitedAdmin, permission: .projectsGetIamPolicy, resource: project, policy: Self.base))
    }

    @Test func compiledPolicyIsReusable() {
        let compiled = CompiledPolicy(Self.base)
        #expect(compiled.policy == Self.base)
        #expect(evaluator.isAllowed(principal: .user("owner@keygate.local"), permission: .redisClustersConnect,
                                    resource: .cluster(project: "p", location: "r", cluster: "a"), policy: compiled))
        #expect(!evaluator.isAllowed(principal: .user("viewer@example.com"), permission: .redisClustersConnect,
                                     resource: .cluster(project: "p", location: "r", cluster: "a"), policy: compiled))
    }
}
