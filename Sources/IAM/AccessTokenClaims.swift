#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What a Keygate access token says. JSON keys: `sub`, `iat`, `exp` (seconds since
/// 1970), `jti`, `kid`, `scp`.
public struct AccessTokenClaims: Sendable, Hashable, Codable {
    /// `sub`, e.g. `user:owner@keygate.local`.
    public var principal: Principal
    /// `iat`, whole seconds.
    public var issuedAt: Date
    /// `exp`, whole seconds.
    public var expiresAt: Date
    /// `jti`: 128 random bits as hex, the handle for revocation.
    public var tokenID: String
    /// `kid`: the signing key's id.
    public var keyID: String
    /// `scp`: OAuth scopes.
    public var scopes: [String]

    public init(principal: Principal, issuedAt: Date, expiresAt: Date, tokenID: String, keyID: String, scopes: [String]) {
        self.principal = principal
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.tokenID = tokenID
        self.keyID = keyID
        self.scopes = scopes
    }

    private enum CodingKeys: String, CodingKey {
        case principal = "sub", issuedAt = "iat", expiresAt = "exp", tokenID = "jti", keyID = "kid", scopes = "scp"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        principal = try c.decode(Principal.self, forKey: .principal)
        issuedAt = Date(timeIntervalSince1970: Double(try c.decode(Int64.self, forKey: .issuedAt)))
        expiresAt = Date(timeIntervalSince1970: Double(try c.decode(Int64.self, forKey: .expiresAt)))
        tokenID = try c.decode(String.self, forKey: .tokenID)
        keyID = try c.decode(String.self, forKey: .keyID)
        scopes = try c.decodeIfPresent([String].self, forKey: .scopes) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(principal, forKey: .principal)
        try c.encode(Int64(issuedAt.timeIntervalSince1970.rounded(.down)), forKey: .issuedAt)
        try c.encode(Int64(expiresAt.timeIntervalSince1970.rounded(.down)), forKey: .expiresAt)
        try c.encode(tokenID, forKey: .tokenID)
        try c.encode(keyID, forKey: .keyID)
        try c.encode(scopes, forKey: .scopes)
    }
}
