#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A freshly minted access token. `token` is a secret: never log it.
public struct MintedToken: Sendable, Hashable {
    /// `kg1.<claims>.<signature>`, what clients send as a password or bearer token.
    public var token: String
    public var expiresAt: Date
    public var tokenID: String
    public var claims: AccessTokenClaims

    public init(token: String, claims: AccessTokenClaims) {
        self.token = token
        self.expiresAt = claims.expiresAt
        self.tokenID = claims.tokenID
        self.claims = claims
    }
}
