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
