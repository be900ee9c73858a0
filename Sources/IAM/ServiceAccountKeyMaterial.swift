#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A new service account key: the file handed to the user once, and what the server keeps.
public struct ServiceAccountKeyMaterial: Sendable {
    /// Google's `service_account` JSON key file, private key included. Give it to the
    /// caller once (base64 in `privateKeyData`), never store or log it.
    public var keyFileJSON: Data
    /// The public key (SPKI PEM, `-----BEGIN PUBLIC KEY-----`), kept by the server to verify
    /// the client's JWT assertions.
    public var publicKeyPEM: String
    /// `private_key_id`: 40 hex characters, the JWT `kid`.
    public var keyID: String
}
