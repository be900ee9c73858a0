import ControlPlane
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// Bad requests to keygated's HTTP API get Google's error JSON with the right status, and change nothing.
@Suite(.serialized)
struct APIErrorTests {
    static func call(_ method: String, _ url: String, token: String?, body: String? = nil) async throws -> (Int, JSONValue) {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body { request.httpBody = Data(body.utf8) }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, (try? JSONValue.parse(data)) ?? .null)
    }

    @Test func errorsAreGoogleShapedAndChangeNothing() async throws {
        let cloud = try LocalCloud()
        defer { cloud.stop() }
        let endpoint = try #require(try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: "\(cloud.home)/keygated.json")))["endpoint"]?.stringValue)
        let clusters = "\(endpoint)/v1/projects/keygate-local/locations/us-central1/clusters"
        let token = try await cloud.freshOwnerToken()

        let cases: [(String, String, String?, String?, Int, String)] = [
            ("GET", clusters, nil, nil, 401, "UNAUTHENTICATED"),
            ("GET", clusters, "kg1.forged.token", nil, 401, "UNAUTHENTICATED"),
            ("POST", clusters + "?clusterId=ok", token, "{not json", 400, "INVALID_ARGUMENT"),
            ("POST", clusters + "?clusterId=ok", token, "{}", 400, "INVALID_ARGUMENT"),
            ("POST", clusters + "?clusterId=ok", token, #"{"shardCount": 1, "nodeType": "BIG"}"#, 400, "INVALID_ARGUMENT"),
            ("POST", clusters + "?clusterId=Bad_ID", token, #"{"shardCount": 1}"#, 400, "INVALID_ARGUMENT"),
            ("GET", clusters + "/missing", token, nil, 404, "NOT_FOUND"),
            ("DELETE", clusters + "/missing", token, nil, 404, "NOT_FOUND"),
            ("GET", "\(endpoint)/v1/nothing/here", token, nil, 404, "NOT_FOUND"),
            ("POST", "\(endpoint)/v3/projects/keygate-local:setIamPolicy", token, #"{"policy": {"bindings": [{"role": "roles/nope", "members": ["user:a@b.c"]}]}}"#, 400, "INVALID_ARGUMENT"),
            ("POST", "\(endpoint)/v3/projects/keygate-local:setIamPolicy", token, #"{"policy": {"etag": "stale", "bindings": []}}"#, 409, "ABORTED"),
            ("POST", "\(endpoint)/v1/projects/keygate-local/serviceAccounts", token, #"{"accountId": "x"}"#, 400, "INVALID_ARGUMENT"),
        ]
        for (method, url, bearer, body, status, name) in cases {
            let (code, json) = try await Self.call(method, url, token: bearer, body: body)
            #expect(code == status, "\(method) \(url): \(code) \(json)")
            #expect(json["error"]?["status"]?.stringValue == name, "\(method) \(url): \(json)")
            #expect(json["error"]?["code"]?.intValue == status)
            #expect(json["error"]?["message"]?.stringValue?.isEmpty == false)
        }
        // Nothing was created, and the owner still holds the project.
        let (code, list) = try await Self.call("GET", clusters, token: token)
        #expect(code == 200 && list["clusters"] == nil)
        let (_, policy) = try await Self.call("POST", "\(endpoint)/v3/projects/keygate-local:getIamPolicy", token: token, body: "{}")
        #expect(policy.jsonText().contains("user:owner@keygate.local"))
    }
}
