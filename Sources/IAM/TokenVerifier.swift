#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Crypto

/// Verifies Keygate access tokens offline.
///
/// Order of checks: size and shape, then the signature (with the key named by `kid`),
/// and only then the claims, so nothing an attacker wrote is believed before the signature
/// holds. The `kid` is read from the unverified claims only to pick the key.
public struct TokenVerifier: Sendable {
    /// Longer strings are refused before any parsing.
    public static let maxTokenLength = 16 * 1024

    private let publicKeys: [String: Curve25519.Signing.PublicKey]
    private let isRevoked: @Sendable (String) -> Bool
    private let leeway: Duration

    /// - Parameters:
    ///   - publicKeys: verification keys by key id.
    ///   - leeway: how long after `exp` a token is still accepted (clock skew between hosts).
    ///   - isRevoked: whether a token id has been revoked.
    public init(publicKeys: [String: Curve25519.Signing.PublicKey], leeway: Duration = .zero,
                isRevoked: @escaping @Sendable (String) -> Bool = { _ in false }) {
        self.publicKeys = publicKeys
        self.leeway = leeway
        self.isRevoked = isRevoked
    }

    public init(publicKeys: [String: Curve25519.Signing.PublicKey], revokedTokenIDs: Set<String>, leeway: Duration = .zero) {
        self.init(publicKeys: publicKeys, leeway: leeway, isRevoked: { revokedTokenIDs.contains($0) })
    }

    public func verify(_ token: String, now: Date) throws(TokenError) -> AccessTokenClaims {
        guard token.utf8.count <= TokenVerifier.maxTokenLength else { throw .malformed }
        let parts = token.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].elementsEqual(TokenIssuer.prefix.utf8) else { throw .malformed }
        let claimsPart = Substring(parts[1])
        guard let claimsJSON = Base64URL.decode(claimsPart),
              let signature = Base64URL.decode(Substring(parts[2])),
              signature.count == 64
        else { throw .malformed }

        struct KeyIDOnly: Decodable { let kid: String }
        let decoder = JSONDecoder()
        guard let keyID = try? decoder.decode(KeyIDOnly.self, from: claimsJSON).kid else { throw .malformed }
        guard let key = publicKeys[keyID] else { throw .unknownKey }

        let signingInput = Data((TokenIssuer.prefix + "." + claimsPart).utf8)
        guard key.isValidSignature(signature, for: signingInput) else { throw .badSignature }

        // Signed by us from here on; still refuse anything that does not decode fully.
        guard let claims = try? decoder.decode(AccessTokenClaims.self, from: claimsJSON), claims.keyID == keyID else {
            throw .malformed
        }
        let leewaySeconds = Double(leeway.components.seconds)
        if now.timeIntervalSince1970 >= claims.expiresAt.timeIntervalSince1970 + leewaySeconds { throw .expired }
        if isRevoked(claims.tokenID) { throw .revoked }
        return claims
    }
}
