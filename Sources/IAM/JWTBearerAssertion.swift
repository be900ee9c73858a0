#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Crypto
import _CryptoExtras

/// RFC 7523 JWT bearer assertions as google-auth's `service_account.Credentials` sends them
/// to the token URI (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`).
///
/// Header `{"typ": "JWT", "alg": "RS256", "kid": private_key_id}`; claims `iss`, `aud`
/// (the token URI), `iat`, `exp` (at most an hour after `iat`) and `scope` (space
/// separated) or `target_audience`.
public enum JWTBearerAssertion {
    public static let grantType = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    /// The `aud` google-auth puts in every assertion, whatever the key file's `token_uri`
    /// (it posts to `token_uri` but names Google's endpoint as the audience).
    public static let googleTokenAudience = "https://oauth2.googleapis.com/token"
    /// Google's limit on `exp - iat`.
    public static let maxLifetime: TimeInterval = 3600
    /// Clock difference tolerated between client and server.
    public static let allowedClockSkew: TimeInterval = 60
    public static let maxLength = 16 * 1024

    private struct Header: Decodable {
        var alg: String?
        var kid: String?
    }

    /// `aud` may be a string or a list of strings.
    private enum Audience: Decodable {
        case one(String)
        case many([String])

        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let s = try? c.decode(String.self) { self = .one(s) } else { self = .many(try c.decode([String].self)) }
        }

        func contains(_ audience: String) -> Bool {
            switch self {
            case let .one(s): s == audience
            case let .many(list): list.contains(audience)
            }
        }
    }

    private struct Claims: Decodable {
        var iss: String?
        var sub: String?
        var aud: Audience?
        var iat: Double?
        var exp: Double?
        var scope: String?
        var target_audience: String?
    }

    /// Verifies an assertion sent to the token endpoint at `expectedAudience`, accepting that
    /// URL or `googleTokenAudience` as `aud` (google-auth always sends the latter). Replay
    /// from Google is no concern: the key is looked up among Keygate's own keys.
    public static func verify(_ assertion: String, publicKey: (_ keyID: String) -> ServiceAccountPublicKey?,
                              expectedAudience: String, now: Date) throws(JWTBearerError) -> JWTBearerClaims {
        try verify(assertion, publicKey: publicKey, expectedAudiences: [expectedAudience, googleTokenAudience], now: now)
    }

    /// Verifies `assertion` and returns who it speaks for.
    ///
    /// The signature is checked (with the key `publicKey(kid)` returns) before any claim is
    /// read; then the issuer must own that key, `aud` must name one of `expectedAudiences`,
    /// and the times must hold: `iat - 60 s <= now < exp + 60 s`, `iat < exp <= iat + 1 h`.
    /// A `sub` other than the issuer (domain-wide delegation) is refused.
    public static func verify(_ assertion: String, publicKey: (_ keyID: String) -> ServiceAccountPublicKey?,
                              expectedAudiences: Set<String>, now: Date) throws(JWTBearerError) -> JWTBearerClaims {
        guard assertion.utf8.count <= maxLength else { throw .malformed("the assertion is too long.") }
        let parts = assertion.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .malformed("expected three dot-separated parts.") }
        guard let headerJSON = Base64URL.decode(parts[0]),
              let header = try? JSONDecoder().decode(Header.self, from: headerJSON)
        else { throw .malformed("the header is not base64url JSON.") }
        guard header.alg == "RS256" else { throw .unsupportedAlgorithm(header.alg ?? "") }
        guard let keyID = header.kid, !keyID.isEmpty else { throw .missingKeyID }
        guard let record = publicKey(keyID),
              let key = try? _RSA.Signing.PublicKey(pemRepresentation: record.pem)
        else { throw .unknownKey }
        guard let signature = Base64URL.decode(parts[2]), !signature.isEmpty else { throw .badSignature }
        let signingInput = Data(assertion.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        guard key.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: signingInput,
                                   padding: .insecurePKCS1v1_5)
        else { throw .badSignature }

        // Signed: the claims can now be read.
        guard let claimsJSON = Base64URL.decode(parts[1]),
              let claims = try? JSONDecoder().decode(Claims.self, from: claimsJSON)
        else { throw .malformed("the claims are not base64url JSON.") }
        guard let issuer = claims.iss, !issuer.isEmpty else { throw .invalidClaim("iss is missing.") }
        guard issuer.lowercased() == record.serviceAccountEmail.lowercased() else { throw .wrongIssuer }
        if let sub = claims.sub, sub.lowercased() != issuer.lowercased() {
            throw .invalidClaim("domain-wide delegation (sub) is not supported.")
        }
        guard let aud = claims.aud, expectedAudiences.contains(where: aud.contains) else { throw .wrongAudience }
        guard let iat = claims.iat, let exp = claims.exp, iat.isFinite, exp.isFinite else {
            throw .badLifetime("iat and exp are required")
        }
        let t = now.timeIntervalSince1970
        guard exp > iat else { throw .badLifetime("exp is not after iat") }
        guard exp - iat <= maxLifetime else { throw .badLifetime("exp is more than an hour after iat") }
        guard iat <= t + allowedClockSkew else { throw .badLifetime("iat is in the future") }
        guard t < exp + allowedClockSkew else { throw .badLifetime("the assertion has expired") }

        let scopes = (claims.scope ?? "").split(separator: " ").map(String.init)
        return JWTBearerClaims(issuer: issuer.lowercased(), scopes: scopes, targetAudience: claims.target_audience,
                               keyID: keyID, issuedAt: Date(timeIntervalSince1970: iat),
                               expiresAt: Date(timeIntervalSince1970: exp))
    }

    /// Signs an assertion exactly as google-auth does (same header, claim layout and
    /// audience), for Keygate's own client and CLI. Post it to the key file's `token_uri`.
    public static func sign(keyFile: ServiceAccountKeyFile, scopes: [String], now: Date,
                            audience: String = googleTokenAudience, lifetime: TimeInterval = 3600) throws -> String {
        let privateKey = try _RSA.Signing.PrivateKey(pemRepresentation: keyFile.privateKey)
        let iat = Int64(now.timeIntervalSince1970.rounded(.down))
        // Python's json.dumps layout: ", " and ": " separators, keys in insertion order.
        let header = #"{"typ": "JWT", "alg": "RS256", "kid": \#(jsonString(keyFile.privateKeyID))}"#
        let claims = #"{"iat": \#(iat), "exp": \#(iat + Int64(lifetime)), "iss": \#(jsonString(keyFile.clientEmail)), "aud": \#(jsonString(audience)), "scope": \#(jsonString(scopes.joined(separator: " ")))}"#
        let signingInput = Base64URL.encode(Data(header.utf8)) + "." + Base64URL.encode(Data(claims.utf8))
        let signature = try privateKey.signature(for: Data(signingInput.utf8), padding: .insecurePKCS1v1_5)
        return signingInput + "." + Base64URL.encode(signature.rawRepresentation)
    }

    private static func jsonString(_ s: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(s)) ?? Data("\"\"".utf8), as: UTF8.self)
    }
}
