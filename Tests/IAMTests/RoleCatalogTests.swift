import Foundation
import Testing
@testable import IAM

@Suite("Role catalog")
struct RoleCatalogTests {
    let catalog = RoleCatalog.predefined

    @Test func connectIsHeldByExactlyTheDocumentedRoles() {
        let holders = Set(catalog.roles(granting: .redisClustersConnect).map(\.name))
        #expect(holders == ["roles/owner", "roles/redis.admin", "roles/redis.dbConnectionUser"])
    }

    @Test func dbConnectionUserHasOnlyConnect() {
        #expect(catalog.permissions(of: "roles/redis.dbConnectionUser") == [.redisClustersConnect])
    }

    @Test(arguments: [
        ("roles/redis.admin", ["redis.clusters.create", "redis.clusters.delete", "redis.clusters.connect", "redis.operations.cancel"], [String]()),
        ("roles/redis.editor", ["redis.clusters.update", "redis.clusters.get", "redis.operations.delete"], ["redis.clusters.create", "redis.clusters.delete", "redis.clusters.connect"]),
        ("roles/redis.viewer", ["redis.clusters.get", "redis.clusters.list", "redis.operations.get", "redis.operations.list"], ["redis.clusters.update", "redis.clusters.connect", "redis.operations.cancel"]),
        ("roles/owner", ["resourcemanager.projects.setIamPolicy", "redis.clusters.connect", "iam.serviceAccounts.getAccessToken"], []),
        ("roles/editor", ["redis.clusters.create", "iam.serviceAccountKeys.create"], ["resourcemanager.projects.setIamPolicy", "redis.clusters.connect", "iam.serviceAccounts.getAccessToken"]),
        ("roles/viewer", ["resourcemanager.projects.getIamPolicy", "redis.clusters.list"], ["redis.clusters.update", "redis.clusters.connect"]),
        ("roles/iam.serviceAccountTokenCreator", ["iam.serviceAccounts.getAccessToken"], ["iam.serviceAccounts.actAs"]),
        ("roles/iam.serviceAccountUser", ["iam.serviceAccounts.actAs"], ["iam.serviceAccounts.getAccessToken"]),
        ("roles/iam.serviceAccountAdmin", ["iam.serviceAccounts.create", "iam.serviceAccounts.delete"], ["iam.serviceAccountKeys.create"]),
        ("roles/iam.serviceAccountKeyAdmin", ["iam.serviceAccountKeys.create", "iam.serviceAccountKeys.delete"], ["iam.serviceAccounts.create"]),
        ("roles/resourcemanager.projectIamAdmin", ["resourcemanager.projects.getIamPolicy", "resourcemanager.projects.setIamPolicy"], ["redis.clusters.connect"]),
    ])
    func rolePermissions(_ role: String, _ has: [String], _ lacks: [String]) throws {
        let permissions = catalog.permissions(of: role)
        #expect(!permissions.isEmpty)
        for p in has { #expect(permissions.contains(Permission(p)), "\(role) should have \(p)") }
        for p in lacks { #expect(!permissions.contains(Permission(p)), "\(role) should not have \(p)") }
    }

    @Test func everyRoleUsesKnownPermissionsAndHasText() {
        let known = Set(Permission.all)
        #expect(catalog.roles.count == 12)
        for role in catalog.roles {
            #expect(role.name.hasPrefix("roles/"))
            #expect(!role.title.isEmpty && !role.description.isEmpty)
            #expect(Set(role.includedPermissions).isSubset(of: known), "\(role.name)")
        }
        #expect(Set(catalog.permissions(of: "roles/owner")) == known)
        #expect(catalog.role(named: "roles/nope") == nil)
        #expect(catalog.permissions(of: "roles/nope").isEmpty)
    }

    @Test func roleEncodesInGoogleShape() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let json = String(decoding: try encoder.encode(catalog.role(named: "roles/redis.dbConnectionUser")!), as: UTF8.self)
        #expect(json.contains(#""name":"roles/redis.dbConnectionUser""#))
        #expect(json.contains(#""includedPermissions":["redis.clusters.connect"]"#))
        #expect(json.contains(#""stage":"GA""#))
    }
}
