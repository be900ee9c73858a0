import Foundation

/// A service account as IAM v1 describes it (`projects/{p}/serviceAccounts/{email}`).
public struct ServiceAccountRecord: Codable, Sendable, Equatable {
    public var project: String
    public var accountID: String
    public var email: String
    public var uniqueID: String
    public var displayName: String?
    public var description: String?
    public var disabled: Bool

    public var resourceName: String { "projects/\(project)/serviceAccounts/\(email)" }
}

/// A user-managed key of a service account; the server keeps only the public half.
public struct ServiceAccountKeyRecord: Codable, Sendable, Equatable {
    public var email: String
    public var project: String
    public var keyID: String
    public var publicKeyPEM: String
    public var validAfter: Date
    public var validBefore: Date

    public var resourceName: String { "projects/\(project)/serviceAccounts/\(email)/keys/\(keyID)" }
}
