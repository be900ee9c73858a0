import Foundation
import Testing
@testable import IAM

@Suite("Policy editing and etags")
struct PolicyEditingTests {
    let alice = Principal.user("alice@example.com")
    let bob = Principal.user("bob@example.com")

    @Test func addingJoinsTheBindingWithTheSameRoleAndCondition() {
        let policy = Policy()
            .adding(member: alice, role: "roles/redis.dbConnectionUser")
            .adding(member: bob, role: "roles/redis.dbConnectionUser")
            .adding(member: bob, role: "roles/redis.dbConnectionUser")
        #expect(policy.bindings == [.init(role: "roles/redis.dbConnectionUser", members: ["user:alice@example.com", "user:bob@example.com"])])
        #expect(policy.version == 1)
    }

    @Test func addingWithAConditionMakesASeparateBindingAndVersion3() throws {
        let policy = Policy()
            .adding(member: alice, role: "roles/redis.dbConnectionUser")
            .adding(member: alice, role: "roles/redis.dbConnectionUser", condition: PolicyFixtures.perClusterCondition)
            .adding(member: bob, role: "roles/redis.dbConnectionUser", condition: PolicyFixtures.perClusterCondition)
        #expect(policy.version == 3)
        #expect(policy.bindings.count == 2)
        #expect(policy.bindings[1].members == ["user:alice@example.com", "user:bob@example.com"])
        try PolicyValidator().validate(policy)
    }

    @Test func addingTreatsEmailCaseAsTheSameMember() {
        let stored = Policy(bindings: [.init(role: "roles/viewer", members: ["user:Alice@Example.com"])])
        #expect(stored.adding(member: alice, role: "roles/viewer").bindings[0].members.count == 1)
    }

    @Test func removingDropsEmptyBindings() throws {
        let policy = Policy()
            .adding(member: alice, role: "roles/viewer")
            .adding(member: bob, role: "roles/viewer")
            .adding(member: alice, role: "roles/redis.admin")
        let once = try policy.removing(member: alice, role: "roles/viewer")
        #expect(once.bindings == [.init(role: "roles/viewer", members: ["user:bob@example.com"]),
                                  .init(role: "roles/redis.admin", members: ["user:alice@example.com"])])
        let twice = try once.removing(member: alice, role: "roles/redis.admin")
        #expect(twice.bindings == [.init(role: "roles/viewer", members: ["user:bob@example.com"])])
    }

    @Test func removingAnAbsentMemberIsAnErrorLikeGcloud() {
        let policy = Policy().adding(member: alice, role: "roles/viewer", condition: PolicyFixtures.perClusterCondition)
        let error = #expect(throws: PolicyError.self) { try policy.removing(member: bob, role: "roles/viewer") }
        #expect(error?.message == "Policy binding with the specified principal, role, and condition not found!")
        // Alice is bound only with a condition: the unconditional binding has no Alice.
        #expect(throws: PolicyError.self) { try policy.removing(member: alice, role: "roles/viewer") }
        let allError = #expect(throws: PolicyError.self) {
            try policy.removing(member: bob, role: "roles/viewer", allConditions: true)
        }
        #expect(allError?.message == "Policy bindings with the specified principal and role not found!")
    }

    @Test func removingWithConditionOrAllConditions() throws {
        let policy = Policy()
            .adding(member: alice, role: "roles/viewer")
            .adding(member: alice, role: "roles/viewer", condition: PolicyFixtures.perClusterCondition)
        let conditional = try policy.removing(member: alice, role: "roles/viewer", condition: PolicyFixtures.perClusterCondition)
        #expect(conditional.bindings == [.init(role: "roles/viewer", members: ["user:alice@example.com"])])
        #expect(try policy.removing(member: alice, role: "roles/viewer", allConditions: true).bindings.isEmpty)
    }

    @Test func etagDependsOnlyOnCanonicalBindings() {
        let a = Policy(bindings: [.init(role: "roles/viewer", members: ["user:a@b.co", "user:c@b.co"]),
                                  .init(role: "roles/owner", members: ["user:o@b.co"])])
        let b = Policy(version: 3, etag: "whatever", bindings: [
            .init(role: "roles/owner", members: ["user:O@b.co"]),
            .init(role: "roles/viewer", members: ["user:c@b.co"]),
            .init(role: "roles/viewer", members: ["user:a@b.co", "user:c@b.co"]),
            .init(role: "roles/editor", members: []),
        ])
        #expect(a.computedEtag() == b.computedEtag())
        #expect(a.computedEtag().count == 12)
        #expect(Data(base64Encoded: a.computedEtag()) != nil)
        #expect(a.adding(member: alice, role: "roles/viewer").computedEtag() != a.computedEtag())
        #expect(a.computedEtag() != Policy().computedEtag())
    }

    @Test func staleEtagIsDetected() throws {
        let current = Policy().adding(member: alice, role: "roles/viewer").withComputedEtag()
        var edit = current.adding(member: bob, role: "roles/viewer")
        try edit.checkEtag(against: current)

        let concurrent = current.adding(member: bob, role: "roles/redis.admin")
        #expect(throws: PolicyError.etagMismatch) { try edit.checkEtag(against: concurrent) }
        #expect(PolicyError.etagMismatch.message.contains("concurrent policy changes"))

        edit.etag = nil  // no etag: blind overwrite, as Google allows
        try edit.checkEtag(against: concurrent)
    }

    @Test func normalizedSortsMergesAndLowercases() {
        let policy = Policy(bindings: [
            .init(role: "roles/viewer", members: ["user:B@x.co", "user:a@x.co"]),
            .init(role: "roles/editor", members: ["user:a@x.co"]),
            .init(role: "roles/viewer", members: ["user:b@x.co"]),
        ]).normalized()
        #expect(policy.bindings == [.init(role: "roles/editor", members: ["user:a@x.co"]),
                                    .init(role: "roles/viewer", members: ["user:a@x.co", "user:b@x.co"])])
    }
}
