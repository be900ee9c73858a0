import ControlPlane
import Foundation
import Testing

/// Google's own Python client libraries (google-auth, google-api-python-client) and redis-py,
/// pointed at keygated: the wire compatibility the README promises.
@Suite(.serialized)
struct GoogleClientLibraryTests {
    static let python = "\(LocalCloud.repoRoot)/.deps/venv/bin/python"

    @Test func googleLibrariesWorkAgainstKeygated() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.python),
                     "run ./scripts/deps first: it creates .deps/venv with the pinned Google client libraries")
        let cloud = try LocalCloud()
        defer { cloud.stop() }
        _ = try IAMLoginTests.createIAMCluster(cloud, "compat", shards: 1)
        let sa = "compat-app@keygate-local.iam.gserviceaccount.com"
        try cloud.ok(["iam", "service-accounts", "create", "compat-app"])
        let keyFile = "\(cloud.home)/compat-app.json"
        try cloud.ok(["iam", "service-accounts", "keys", "create", keyFile, "--iam-account=\(sa)"])
        for role in ["roles/redis.admin", "roles/viewer", "roles/iam.serviceAccountTokenCreator"] {
            try cloud.ok(["projects", "add-iam-policy-binding", "keygate-local", "--member=serviceAccount:\(sa)", "--role=\(role)"])
        }
        let endpoint = try #require(try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: "\(cloud.home)/keygated.json")))["endpoint"]?.stringValue)
        // Policy changes reach the auth agent within its propagation interval.
        var result = CommandResult(status: 1, stdout: "", stderr: "")
        for _ in 0..<3 {
            result = try CommandRunner.run(Self.python, ["\(LocalCloud.repoRoot)/Tests/compat/google_clients.py", endpoint, keyFile,
                                                         "keygate-local", "us-central1", "compat"], timeout: 120)
            if result.status == 0 { break }
            sleep(5)
        }
        #expect(result.status == 0, "\(result.output)")
        #expect(result.stdout.contains(" passed, 0 failed"), "\(result.output)")
        #expect(!result.stdout.contains("SKIP"), "\(result.output)")
    }
}
