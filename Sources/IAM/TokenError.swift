/// Why a token was refused (or could not be minted).
///
/// Verification errors stay distinct so clients and logs can tell "expired" from "wrong";
/// none of them carries any part of the token.
public enum TokenError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Not a Keygate token: wrong shape, bad encoding, bad JSON, too long.
    case malformed
    /// Signed with a key id this verifier does not know (e.g. rotated away).
    case unknownKey
    /// The signature does not match.
    case badSignature
    /// Past its expiry time.
    case expired
    /// Its token id has been revoked.
    case revoked
    /// Minting: the lifetime is not between 1 second and 12 hours.
    case invalidLifetime
    /// Minting: the signing key failed.
    case signingFailed

    public var description: String {
        switch self {
        case .malformed: "The access token is malformed."
        case .unknownKey: "The access token was signed with an unknown key."
        case .badSignature: "The access token signature is invalid."
        case .expired: "The access token has expired."
        case .revoked: "The access token has been revoked."
        case .invalidLifetime: "The token lifetime must be between 1 second and 43200 seconds (12 hours)."
        case .signingFailed: "The access token could not be signed."
        }
    }
}
