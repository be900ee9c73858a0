/// The public half of a service account key, as the token endpoint looks it up by `kid`.
public struct ServiceAccountPublicKey: Sendable, Hashable {
    /// SPKI PEM (`-----BEGIN PUBLIC KEY-----`).
    public var pem: String
    /// The service account the key belongs to; the assertion's `iss` must name it.
    public var serviceAccountEmail: String

    public init(pem: String, serviceAccountEmail: String) {
        self.pem = pem
        self.serviceAccountEmail = serviceAccountEmail
    }
}
