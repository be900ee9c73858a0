/// Why a JWT bearer assertion (RFC 7523) was refused. The token endpoint answers
/// `{"error": "invalid_grant", "error_description": description}` for all of them.
public enum JWTBearerError: Error, Sendable, Hashable, CustomStringConvertible {
    case malformed(String)
    case unsupportedAlgorithm(String)
    case missingKeyID
    case unknownKey
    case badSignature
    case wrongIssuer
    case wrongAudience
    /// `iat`/`exp` out of bounds: expired, issued in the future, or living over an hour.
    case badLifetime(String)
    case invalidClaim(String)

    /// The OAuth 2.0 error code.
    public var oauthError: String { "invalid_grant" }

    public var description: String {
        switch self {
        case let .malformed(why): "Invalid JWT: \(why)"
        case let .unsupportedAlgorithm(alg): "Invalid JWT: unsupported algorithm '\(alg)'; RS256 is required."
        case .missingKeyID: "Invalid JWT: the header has no kid."
        case .unknownKey: "Invalid grant: account not found"
        case .badSignature: "Invalid JWT Signature."
        case .wrongIssuer: "Invalid JWT: the issuer does not own the signing key."
        case .wrongAudience: "Invalid JWT: Failed audience check."
        case let .badLifetime(why):
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim. (\(why))"
        case let .invalidClaim(why): "Invalid JWT: \(why)"
        }
    }
}
