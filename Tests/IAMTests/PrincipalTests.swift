import Foundation
import Testing
@testable import IAM

@Suite("Principals")
struct PrincipalTests {
    @Test(arguments: [
        ("user:owner@keygate.local", Principal.user("owner@keygate.local")),
        ("user:Alice.Smith+redis@Example.COM", .user("alice.smith+redis@example.com")),
        ("serviceAccount:app@my-project.iam.gserviceaccount.com", .serviceAccount("app@my-project.iam.gserviceaccount.com")),
        ("group:admins@example.com", .group("admins@example.com")),
        ("allUsers", .allUsers),
        ("allAuthenticatedUsers", .allAuthenticatedUsers),
    ])
    func parses(_ text: String, _ expected: Principal) throws {
        let principal = try Principal(parsing: text)
        #expect(principal == expected)
        #expect(try Principal(parsing: principal.description) == principal)
    }

    @Test(arguments: [
        ("", "members must be of the form"),
        ("alice@example.com", "members must be of the form"),
        ("domain:example.com", "members must be of the form"),
        ("User:alice@example.com", "members must be of the form"),
        ("allusers", "members must be of the form"),
        ("user:", "is not a valid email address"),
        ("user:alice", "is not a valid email address"),
        ("user:@example.com", "is not a valid email address"),
        ("user:alice@", "is not a valid email address"),
        ("user:alice@example", "is not a valid email address"),
        ("user:alice@@example.com", "is not a valid email address"),
        ("user:alice smith@example.com", "is not a valid email address"),
        ("user:alice@exa_mple.com", "is not a valid email address"),
        ("user:alice@example..com", "is not a valid email address"),
        ("user:al\"ice@example.com", "is not a valid email address"),
        ("user:alice@example.com\n", "is not a valid email address"),
        ("serviceAccount:" + String(repeating: "a", count: 65) + "@x.com", "is not a valid email address"),
    ])
    func rejects(_ text: String, _ message: String) {
        let error = #expect(throws: PrincipalError.self) { try Principal(parsing: text) }
        #expect(error?.message.contains(message) == true, "\(error?.message ?? "")")
        #expect(error?.member == text)
    }

    @Test func codableAsString() throws {
        let data = try JSONEncoder().encode([Principal.serviceAccount("a@b.co")])
        #expect(String(decoding: data, as: UTF8.self) == #"["serviceAccount:a@b.co"]"#)
        #expect(try JSONDecoder().decode([Principal].self, from: data) == [.serviceAccount("a@b.co")])
        #expect(throws: (any Error).self) { try JSONDecoder().decode([Principal].self, from: Data(#"["nobody"]"#.utf8)) }
    }

    @Test func matching() {
        let alice = Principal.user("alice@example.com")
        let admins = Principal.group("admins@example.com")
        #expect(alice.isMatched(by: alice))
        #expect(!alice.isMatched(by: .user("bob@example.com")))
        #expect(alice.isMatched(by: .allUsers))
        #expect(alice.isMatched(by: .allAuthenticatedUsers))
        #expect(Principal.allUsers.isMatched(by: .allUsers))
        #expect(!Principal.allUsers.isMatched(by: .allAuthenticatedUsers))
        #expect(!alice.isMatched(by: admins))
        #expect(alice.isMatched(by: admins, groups: [admins]))
        #expect(Principal("user:x@y.z") == .user("x@y.z"))
        #expect(Principal("nope") == nil)
    }
}
