#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The fields of Google's `service_account` JSON key file, for reading one (the CLI and
/// client library do; google-auth reads the same file).
public struct ServiceAccountKeyFile: Sendable, Hashable, Codable {
    public var type: String
    public var projectID: String
    public var privateKeyID: String
    public var privateKey: String
    public var clientEmail: String
    public var clientID: String
    public var authURI: String
    public var tokenURI: String
    public var authProviderX509CertURL: String
    public var clientX509CertURL: String
    public var universeDomain: String?

    enum CodingKeys: String, CodingKey {
        case type
        case projectID = "project_id"
        case privateKeyID = "private_key_id"
        case privateKey = "private_key"
        case clientEmail = "client_email"
        case clientID = "client_id"
        case authURI = "auth_uri"
        case tokenURI = "token_uri"
        case authProviderX509CertURL = "auth_provider_x509_cert_url"
        case clientX509CertURL = "client_x509_cert_url"
        case universeDomain = "universe_domain"
    }

    /// The fields in the order Google writes them.
    static let fieldOrder: [CodingKeys] = [
        .type, .projectID, .privateKeyID, .privateKey, .clientEmail, .clientID, .authURI, .tokenURI,
        .authProviderX509CertURL, .clientX509CertURL, .universeDomain,
    ]

    /// Google's layout: two-space indentation, fields in Google's order, a final newline.
    /// (JSONEncoder cannot promise key order, so the object is written by hand.)
    public func encodedLikeGoogle() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        func quoted(_ s: String) -> String {
            // Encoding a String cannot fail.
            String(decoding: (try? encoder.encode(s)) ?? Data("\"\"".utf8), as: UTF8.self)
        }
        var lines: [String] = []
        for key in ServiceAccountKeyFile.fieldOrder {
            let value: String?
            switch key {
            case .type: value = type
            case .projectID: value = projectID
            case .privateKeyID: value = privateKeyID
            case .privateKey: value = privateKey
            case .clientEmail: value = clientEmail
            case .clientID: value = clientID
            case .authURI: value = authURI
            case .tokenURI: value = tokenURI
            case .authProviderX509CertURL: value = authProviderX509CertURL
            case .clientX509CertURL: value = clientX509CertURL
            case .universeDomain: value = universeDomain
            }
            if let value { lines.append("  \(quoted(key.rawValue)): \(quoted(value))") }
        }
        return Data(("{\n" + lines.joined(separator: ",\n") + "\n}\n").utf8)
    }
}
