import Foundation
import Testing
@testable import IAM

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
