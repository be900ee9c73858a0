#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What a verified assertion says.
public struct JWTBearerClaims: Sendable, Hashable {
    /// `iss`: the service account's email.
    public var issuer: String
    /// `scope`, split on spaces; empty for ID-token requests (or when the client sent none).
    public var scopes: [String]
    /// `target_audience`, present when the client asks for an ID token.
    public var targetAudience: String?
    /// The header `kid`: the service account key's `private_key_id`.
    public var keyID: String
    public var issuedAt: Date
    public var expiresAt: Date
}
