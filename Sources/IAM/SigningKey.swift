#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Crypto

/// One Ed25519 token-signing key and its id.
public struct SigningKey: Sendable {
    public let keyID: String
    public let privateKey: Curve25519.Signing.PrivateKey

    public init(keyID: String, privateKey: Curve25519.Signing.PrivateKey) throws(SigningKeyError) {
        guard SigningKey.isValidKeyID(keyID) else { throw SigningKeyError("Invalid key id '\(keyID)'.") }
        self.keyID = keyID
        self.privateKey = privateKey
    }

    /// A new key with a random 64-bit hex id.
    public static func generate() -> SigningKey {
        // The id is well-formed by construction.
        try! SigningKey(keyID: RandomHex.make(byteCount: 8), privateKey: Curve25519.Signing.PrivateKey())
    }

    public var publicKey: Curve25519.Signing.PublicKey { privateKey.publicKey }

    /// The raw 32-byte private key, base64: what storage keeps (in a 0600 file or database).
    public var serializedPrivateKey: String { privateKey.rawRepresentation.base64EncodedString() }

    public init(keyID: String, serializedPrivateKey: String) throws(SigningKeyError) {
        guard let raw = Data(base64Encoded: serializedPrivateKey), raw.count == 32,
              let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw)
        else { throw SigningKeyError("The stored private key for key id '\(keyID)' is not a base64 Ed25519 key.") }
        try self.init(keyID: keyID, privateKey: key)
    }

    /// Key ids travel in tokens and JSON: keep them short and plain.
    static func isValidKeyID(_ id: String) -> Bool {
        (1...64).contains(id.utf8.count) && id.utf8.allSatisfy { b in
            (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 45 || b == 95
        }
    }
}
