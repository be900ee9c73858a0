import ControlPlane
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Calls keygated's Google-shaped HTTP APIs and turns Google error JSON into CLI errors.
struct APIClient {
    let endpoint: String
    /// Bearer token sent with every call, when the CLI has credentials.
    var accessToken: String?

    func get(_ path: String) async throws -> JSONValue { try await send("GET", path, body: nil) }
    func delete(_ path: String) async throws -> JSONValue { try await send("DELETE", path, body: nil) }
    func post(_ path: String, _ body: JSONValue) async throws -> JSONValue { try await send("POST", path, body: body) }
    func patch(_ path: String, _ body: JSONValue) async throws -> JSONValue { try await send("PATCH", path, body: body) }

    func send(_ method: String, _ path: String, body: JSONValue?) async throws -> JSONValue {
        guard let url = URL(string: endpoint + path) else { throw CLIError("Bad API URL \(endpoint + path)") }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.timeoutInterval = 60
        if let body {
            request.httpBody = Data(body.jsonText().utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        if let accessToken { request.setValue("Bearer \(accessToken)", forHTTPHeaderField: "Authorization") }
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await URLSession.shared.data(for: request)
        } catch {
            throw CLIError("Cannot reach keygated at \(endpoint): \(error.localizedDescription). Is it running? (`keygate up`)")
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        let json = (try? JSONValue.parse(data)) ?? .null
        guard (200..<300).contains(status) else {
            if let error = json["error"], let message = error["message"]?.stringValue {
                throw CLIError("\(error["status"]?.stringValue ?? "HTTP \(status)"): \(message)")
            }
            throw CLIError("HTTP \(status) from \(method) \(path)")
        }
        return json
    }
}
