#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Crypto

/// Mints Keygate access tokens: `kg1.<base64url(claims JSON)>.<base64url(Ed25519 signature)>`,
/// the signature covering the ASCII bytes of `kg1.<claims part>`.
///
/// Tokens are self-contained so any auth agent can verify them offline with the published
/// public keys; the version prefix leaves room to change the format later.
public struct TokenIssuer: Sendable {
    public static let prefix = "kg1"
    /// A token lives one hour unless asked otherwise (Google's default).
    public static let defaultLifetime: Duration = .seconds(3600)
    /// `generateAccessToken` may extend a token's life to 12 hours, no more.
    public static let maxLifetime: Duration = .seconds(43_200)

    public let keyID: String
    private let signingKey: Curve25519.Signing.PrivateKey

    public init(signingKey: Curve25519.Signing.PrivateKey, keyID: String) {
        self.signingKey = signingKey
        self.keyID = keyID
    }

    public init(key: SigningKey) {
        self.init(signingKey: key.privateKey, keyID: key.keyID)
    }

    /// Mints a token for `principal` valid from `now` (rounded down to the second) for
    /// `lifetime` (whole seconds, 1 s to 12 h).
    public func mint(principal: Principal, scopes: [String] = [], lifetime: Duration = TokenIssuer.defaultLifetime,
                     now: Date) throws(TokenError) -> MintedToken {
        let seconds = lifetime.components.seconds
        guard seconds >= 1, lifetime <= TokenIssuer.maxLifetime else { throw .invalidLifetime }
        let issuedAt = now.timeIntervalSince1970.rounded(.down)
        let claims = AccessTokenClaims(
            principal: principal,
            issuedAt: Date(timeIntervalSince1970: issuedAt),
            expiresAt: Date(timeIntervalSince1970: issuedAt + Double(seconds)),
            tokenID: RandomHex.make(byteCount: 16),
            keyID: keyID,
            scopes: scopes
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let json = try? encoder.encode(claims) else { throw .signingFailed }
        let signingInput = TokenIssuer.prefix + "." + Base64URL.encode(json)
        guard let signature = try? signingKey.signature(for: Data(signingInput.utf8)) else { throw .signingFailed }
        return MintedToken(token: signingInput + "." + Base64URL.encode(signature), claims: claims)
    }
}
