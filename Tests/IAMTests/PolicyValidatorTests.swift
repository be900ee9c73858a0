import Foundation
import Testing
@testable import IAM

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
