import Foundation
import Testing
@testable import IAM

enum PolicyFixtures {
    static let perClusterCondition = Policy.Condition(
        expression: #"resource.name.startsWith("projects/p/locations/us-central1/clusters/a")"#,
        title: "only cluster a", description: "Connect to cluster a only")
    static let limitedAdminCondition = Policy.Condition(
        expression: "api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly(['roles/redis.dbConnectionUser'])",
        title: "grant db connection only")

    static let googleJSON = #"""
    {
      "version": 3,
      "etag": "BwX1abcdefg=",
      "bindings": [
        {"role": "roles/owner", "members": ["user:owner@keygate.local"]},
        {
          "role": "roles/redis.dbConnectionUser",
          "members": ["serviceAccount:app@p.iam.gserviceaccount.com", "user:dev@example.com"],
          "condition": {
            "expression": "resource.name.startsWith(\"projects/p/locations/us-central1/clusters/a\")",
            "title": "only cluster a",
            "description": "Connect to cluster a only"
          }
        }
      ]
    }
    """#

    static func encode(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

@Suite("Policy JSON")
struct PolicyCodingTests {
    @Test func decodesGooglesShape() throws {
        let policy = try JSONDecoder().decode(Policy.self, from: Data(PolicyFixtures.googleJSON.utf8))
        #expect(policy.version == 3)
        #expect(policy.etag == "BwX1abcdefg=")
        #expect(policy.bindings.count == 2)
        #expect(policy.bindings[1].condition == PolicyFixtures.perClusterCondition)
        #expect(policy.bindings[0].condition == nil)
        #expect(policy.hasConditions)
    }

    @Test func roundTrips() throws {
        let policy = try JSONDecoder().decode(Policy.self, from: Data(PolicyFixtures.googleJSON.utf8))
        let again = try JSONDecoder().decode(Policy.self, from: Data(try PolicyFixtures.encode(policy).utf8))
        #expect(again == policy)
    }

    @Test func omitsAbsentFields() throws {
        #expect(try PolicyFixtures.encode(Policy()) == #"{"version":1}"#)
        let policy = Policy(version: 3, etag: "AA==", bindings: [
            .init(role: "roles/viewer", members: ["user:a@b.co"]),
            .init(role: "roles/viewer", members: ["user:c@b.co"], condition: .init(expression: "true", title: "t")),
        ])
        #expect(try PolicyFixtures.encode(policy) == #"{"bindings":[{"members":["user:a@b.co"],"role":"roles/viewer"},{"condition":{"expression":"true","title":"t"},"members":["user:c@b.co"],"role":"roles/viewer"}],"etag":"AA==","version":3}"#)
    }

    @Test func missingFieldsDecodeToDefaults() throws {
        let policy = try JSONDecoder().decode(Policy.self, from: Data(#"{"etag":"x"}"#.utf8))
        #expect(policy == Policy(version: 1, etag: "x", bindings: []))
        let zero = try JSONDecoder().decode(Policy.self, from: Data(#"{"version":0,"bindings":[{"role":"roles/viewer"}]}"#.utf8))
        #expect(zero.version == 1)
        #expect(zero.bindings == [.init(role: "roles/viewer", members: [])])
    }
}

@Suite("Policy validation")
struct PolicyValidatorTests {
    let validator = PolicyValidator()

    @Test func acceptsValidPolicies() throws {
        let policy = try JSONDecoder().decode(Policy.self, from: Data(PolicyFixtures.googleJSON.utf8))
        try validator.validate(policy)
        try validator.validate(Policy())
        try validator.validate(Policy(version: 3, bindings: [
            .init(role: "roles/resourcemanager.projectIamAdmin", members: ["user:iam@example.com"],
                  condition: PolicyFixtures.limitedAdminCondition),
            .init(role: "roles/viewer", members: ["allAuthenticatedUsers", "group:g@example.com"]),
        ]))
    }

    @Test(arguments: [
        (Policy(bindings: [.init(role: "roles/redis.superuser", members: ["user:a@b.co"])]),
         PolicyError.unknownRole("roles/redis.superuser"), "Role roles/redis.superuser is not supported for this resource."),
        (Policy(bindings: [.init(role: "roles/viewer", members: ["user:a@b.co", "bogus"])]),
         .invalidMember(member: "bogus", reason: "Invalid member 'bogus': members must be of the form user:EMAIL, serviceAccount:EMAIL, group:EMAIL, allUsers or allAuthenticatedUsers."), "Invalid member 'bogus'"),
        (Policy(bindings: [.init(role: "roles/viewer", members: ["user:a@b.co"], condition: PolicyFixtures.perClusterCondition)]),
         .conditionRequiresVersion3(role: "roles/viewer"), "must set version 3"),
        (Policy(version: 2), .unsupportedVersion(2), "valid values are 1 and 3"),
        (Policy(bindings: [.init(role: "roles/viewer", members: [])]), .invalidBinding("The binding for roles/viewer has no members."), "has no members"),
        (Policy(bindings: [.init(role: "", members: ["user:a@b.co"])]), .invalidBinding("Each binding must name a role."), "must name a role"),
        (Policy(bindings: [.init(role: "roles/owner", members: ["allUsers"])]),
         .invalidMember(member: "allUsers", reason: "allUsers cannot be granted roles/owner."), "cannot be granted roles/owner"),
        (Policy(version: 3, bindings: [.init(role: "roles/viewer", members: ["user:a@b.co"], condition: .init(expression: "true"))]),
         .invalidBinding("A condition must have a title."), "must have a title"),
    ])
    func rejects(_ policy: Policy, _ expected: PolicyError, _ message: String) {
        let error = #expect(throws: PolicyError.self) { try validator.validate(policy) }
        #expect(error == expected)
        #expect(error?.message.contains(message) == true, "\(error?.message ?? "")")
    }

    /// An unparsable condition is refused with CEL's message, never ignored.
    @Test(arguments: [
        ("resource.name.startsWith('x'", "ERROR: <input>:1:29: Syntax error: expected ',' or ')' but found end of input"),
        ("resource.name.extract('{x}') == 'a'", "ERROR: <input>:1:15: Unsupported: unsupported function 'extract'"),
        ("resource.name.matches('[')", "ERROR: <input>:1:23: Syntax error: invalid regular expression: missing ']'"),
    ])
    func rejectsBadConditions(_ expression: String, _ celMessage: String) {
        let policy = Policy(version: 3, bindings: [
            .init(role: "roles/redis.dbConnectionUser", members: ["user:a@b.co"],
                  condition: .init(expression: expression, title: "t")),
        ])
        let error = #expect(throws: PolicyError.self) { try validator.validate(policy) }
        #expect(error == .invalidCondition(expression: expression, reason: celMessage))
        #expect(error?.message == "Condition expression is invalid: " + celMessage)
    }

    @Test func limitsMembers() {
        let members = (0...PolicyValidator.maxMembers).map { "user:u\($0)@example.com" }
        let error = #expect(throws: PolicyError.self) {
            try validator.validate(Policy(bindings: [.init(role: "roles/viewer", members: members)]))
        }
        #expect(error?.message.contains("the limit is 1500") == true)
    }

    @Test func customRolesNeedACatalogEntry() throws {
        let custom = Role(name: "projects/p/roles/connector", title: "Connector", description: "c",
                          includedPermissions: [.redisClustersConnect])
        let policy = Policy(bindings: [.init(role: custom.name, members: ["user:a@b.co"])])
        #expect(throws: PolicyError.unknownRole(custom.name)) { try validator.validate(policy) }
        try PolicyValidator(catalog: .predefined.adding(custom)).validate(policy)
    }
}

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
