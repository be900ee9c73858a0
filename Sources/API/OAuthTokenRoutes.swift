import Foundation
import Hummingbird
import IAM
import IAMService

/// The OAuth2 token endpoint (`POST /token`): the JWT-bearer grant (RFC 7523) google-auth uses
/// for service account keys, and the refresh-token grant of the CLI's user.
struct OAuthTokenRoutes {
    let iam: IAMService

    func register(on router: Router<BasicRequestContext>) {
        router.post("/token") { request, context -> Response in
            let buffer = try await request.body.collect(upTo: 64 * 1024)
            let form = Self.parseForm(String(buffer: buffer))
            do {
                let minted: MintedToken
                switch form["grant_type"] {
                case JWTBearerAssertion.grantType?:
                    minted = try iam.exchangeJWTBearer(form["assertion"] ?? "")
                case "refresh_token"?:
                    minted = try iam.exchangeRefreshToken(form["refresh_token"] ?? "")
                default:
                    throw OAuthError(error: "unsupported_grant_type", description: "Invalid grant_type: \(form["grant_type"] ?? "")")
                }
                let expiresIn = Int(minted.claims.expiresAt.timeIntervalSinceNow.rounded(.down))
                return JSONResponse.make(["access_token": .string(minted.token), "expires_in": .number(Double(expiresIn)),
                                          "token_type": "Bearer", "scope": .string(minted.claims.scopes.joined(separator: " "))])
            } catch let error as OAuthError {
                return JSONResponse.make(["error": .string(error.error), "error_description": .string(error.description)], status: .badRequest)
            }
        }
    }

    static func parseForm(_ body: String) -> [String: String] {
        var result: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0) }
            if parts.count == 2 { result[parts[0]] = parts[1] }
        }
        return result
    }
}
