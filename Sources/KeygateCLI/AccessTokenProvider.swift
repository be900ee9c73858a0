import ControlPlane
import Foundation
import IAM
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Gets an access token for the active account: the cached one while it has a minute left, else a
/// new one from the OAuth2 token endpoint (refresh-token grant for users, RFC 7523 JWT-bearer grant
/// signed with the key file for service accounts, exactly as google-auth does).
struct AccessTokenProvider {
    var store: CredentialStore
    let endpoint: String

    mutating func token(for account: String, forceRefresh: Bool = false) async throws -> String {
        if !forceRefresh, let cached = store.cachedAccessToken(for: account) { return cached }
        guard let credential = store.credential(for: account) else {
            throw CLIError("You do not currently have credentials for [\(account)]. Run `keygate auth activate-service-account --key-file=FILE`, or `keygate up` for the owner account.")
        }
        var form: [(String, String)]
        var tokenURI = "\(endpoint)/token"
        switch credential["type"]?.stringValue {
        case "authorized_user":
            guard let refresh = credential["refresh_token"]?.stringValue else { throw CLIError("Credential for [\(account)] has no refresh token.") }
            form = [("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", credential["client_id"]?.stringValue ?? "keygate-cli")]
        case "service_account":
            guard let key = credential["key"] else { throw CLIError("Credential for [\(account)] has no key.") }
            tokenURI = key["token_uri"]?.stringValue ?? tokenURI
            let keyFile = try JSONDecoder().decode(ServiceAccountKeyFile.self, from: JSONEncoder().encode(key))
            form = [("grant_type", JWTBearerAssertion.grantType),
                    ("assertion", try JWTBearerAssertion.sign(keyFile: keyFile, scopes: ["https://www.googleapis.com/auth/cloud-platform"], now: Date()))]
        default:
            throw CLIError("Credential for [\(account)] has an unknown type.")
        }
        let (token, expiresIn) = try await Self.exchange(tokenURI: tokenURI, form: form)
        try store.cacheAccessToken(token, expiresIn: expiresIn, for: account)
        return token
    }

    static func exchange(tokenURI: String, form: [(String, String)]) async throws -> (String, Int) {
        guard let url = URL(string: tokenURI) else { throw CLIError("Bad token URI \(tokenURI).") }
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        request.httpBody = Data(form.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }.joined(separator: "&").utf8)
        let (data, response): (Data, URLResponse)
        do {
            (data, response) = try await URLSession.shared.data(for: request)
        } catch {
            throw CLIError("Cannot reach the token endpoint \(tokenURI): \(error.localizedDescription)")
        }
        let json = (try? JSONValue.parse(data)) ?? .null
        guard (response as? HTTPURLResponse)?.statusCode == 200, let token = json["access_token"]?.stringValue else {
            let reason = json["error_description"]?.stringValue ?? json["error"]?.stringValue ?? "HTTP \((response as? HTTPURLResponse)?.statusCode ?? 0)"
            throw CLIError("There was a problem refreshing your current auth tokens: \(reason)")
        }
        return (token, json["expires_in"]?.intValue ?? 3600)
    }
}

