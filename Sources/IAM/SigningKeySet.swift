#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Crypto

/// The token-signing keys of an IAM service: one active key that mints, older keys kept
/// so tokens they signed still verify until they expire (rotation).
public struct SigningKeySet: Sendable {
    public private(set) var keys: [SigningKey]
    public private(set) var activeKeyID: String?

    public init(keys: [SigningKey] = [], activeKeyID: String? = nil) {
        self.keys = keys
        self.activeKeyID = activeKeyID ?? keys.last?.keyID
    }

    /// Generates a key, adds it, and (by default) makes it the one that mints.
    @discardableResult
    public mutating func generateKey(makeActive: Bool = true) -> SigningKey {
        let key = SigningKey.generate()
        add(key, makeActive: makeActive)
        return key
    }

    public mutating func add(_ key: SigningKey, makeActive: Bool = true) {
        keys.removeAll { $0.keyID == key.keyID }
        keys.append(key)
        if makeActive || activeKeyID == nil { activeKeyID = key.keyID }
    }

    /// Retires a key: tokens it signed stop verifying.
    public mutating func removeKey(keyID: String) {
        keys.removeAll { $0.keyID == keyID }
        if activeKeyID == keyID { activeKeyID = keys.last?.keyID }
    }

    public var activeKey: SigningKey? { keys.first { $0.keyID == activeKeyID } }

    /// An issuer for the active key, if there is one.
    public var issuer: TokenIssuer? { activeKey.map(TokenIssuer.init(key:)) }

    public var publicKeys: [String: Curve25519.Signing.PublicKey] {
        Dictionary(keys.map { ($0.keyID, $0.publicKey) }, uniquingKeysWith: { _, last in last })
    }

    public func verifier(leeway: Duration = .zero,
                         isRevoked: @escaping @Sendable (String) -> Bool = { _ in false }) -> TokenVerifier {
        TokenVerifier(publicKeys: publicKeys, leeway: leeway, isRevoked: isRevoked)
    }

    // MARK: - Storage

    /// Private keys by key id, each base64 of the raw 32 bytes. Secret: store with mode 0600.
    public func serializedPrivateKeys() -> [String: String] {
        Dictionary(keys.map { ($0.keyID, $0.serializedPrivateKey) }, uniquingKeysWith: { _, last in last })
    }

    public init(serializedPrivateKeys: [String: String], activeKeyID: String?) throws(SigningKeyError) {
        var keys: [SigningKey] = []
        for (id, serialized) in serializedPrivateKeys.sorted(by: { $0.key < $1.key }) {
            keys.append(try SigningKey(keyID: id, serializedPrivateKey: serialized))
        }
        if let activeKeyID, !keys.contains(where: { $0.keyID == activeKeyID }) {
            throw SigningKeyError("The active key id '\(activeKeyID)' is not among the stored keys.")
        }
        self.init(keys: keys, activeKeyID: activeKeyID)
    }

    // MARK: - Publishing

    private struct JWKS: Codable {
        var keys: [JWK]
    }

    private struct JWK: Codable {
        var kty: String
        var crv: String?
        var kid: String?
        var x: String?
        var use: String?
        var alg: String?
    }

    /// The public keys as a JWKS document (RFC 8037 OKP keys):
    /// `{"keys":[{"alg":"EdDSA","crv":"Ed25519","kid":"…","kty":"OKP","use":"sig","x":"…"}]}`.
    public func exportJWKS() -> Data {
        let jwks = JWKS(keys: keys.sorted { $0.keyID < $1.keyID }.map {
            JWK(kty: "OKP", crv: "Ed25519", kid: $0.keyID, x: Base64URL.encode($0.publicKey.rawRepresentation),
                use: "sig", alg: "EdDSA")
        })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(jwks)) ?? Data(#"{"keys":[]}"#.utf8)
    }

    /// Reads the Ed25519 keys of a JWKS document; keys of other types are skipped, a broken
    /// Ed25519 entry is an error.
    public static func importJWKS(_ data: Data) throws(SigningKeyError) -> [String: Curve25519.Signing.PublicKey] {
        guard let jwks = try? JSONDecoder().decode(JWKS.self, from: data) else {
            throw SigningKeyError("The key set is not a JWKS JSON document.")
        }
        var result: [String: Curve25519.Signing.PublicKey] = [:]
        for jwk in jwks.keys where jwk.kty == "OKP" && jwk.crv == "Ed25519" {
            guard let kid = jwk.kid, SigningKey.isValidKeyID(kid) else {
                throw SigningKeyError("A key in the key set has no valid kid.")
            }
            guard let x = jwk.x, let raw = Base64URL.decode(x), raw.count == 32,
                  let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw)
            else { throw SigningKeyError("The key '\(kid)' in the key set is not a valid Ed25519 public key.") }
            result[kid] = key
        }
        return result
    }
}
