#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Crypto
import _CryptoExtras

/// Creates service account keys the way `projects.serviceAccounts.keys.create` does: a new
/// RSA-2048 key pair, the private half only in the returned key file.
public enum ServiceAccountKeyFactory {
    /// - Parameters:
    ///   - tokenURI: where clients exchange their signed JWT for an access token (keygated's
    ///     OAuth2 token endpoint); also the `aud` they will put in the JWT.
    ///   - authURI, authProviderCertsURL, clientCertsURL: default to paths on the origin of
    ///     `tokenURI` (`/o/oauth2/auth`, `/oauth2/v1/certs`,
    ///     `/robot/v1/metadata/x509/<email>`); clients do not use them to get tokens.
    ///   - universeDomain: google-auth compares it with the API's universe; keep the default
    ///     unless clients are configured for another universe.
    public static func make(projectID: String, email: String, clientID: String, tokenURI: String,
                            authURI: String? = nil, authProviderCertsURL: String? = nil,
                            clientCertsURL: String? = nil,
                            universeDomain: String = "googleapis.com") throws -> ServiceAccountKeyMaterial {
        let privateKey = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let publicKey = privateKey.publicKey
        // A stable 40-hex id derived from the public key, the length Google's ids have.
        let keyID = Array(SHA256.hash(data: publicKey.derRepresentation).prefix(20)).hexString
        let origin = Self.origin(of: tokenURI)
        var pem = privateKey.pkcs8PEMRepresentation
        if !pem.hasSuffix("\n") { pem += "\n" }

        let file = ServiceAccountKeyFile(
            type: "service_account",
            projectID: projectID,
            privateKeyID: keyID,
            privateKey: pem,
            clientEmail: email,
            clientID: clientID,
            authURI: authURI ?? origin + "/o/oauth2/auth",
            tokenURI: tokenURI,
            authProviderX509CertURL: authProviderCertsURL ?? origin + "/oauth2/v1/certs",
            clientX509CertURL: clientCertsURL ?? origin + "/robot/v1/metadata/x509/" + Self.percentEncode(email),
            universeDomain: universeDomain
        )
        return ServiceAccountKeyMaterial(keyFileJSON: file.encodedLikeGoogle(), publicKeyPEM: publicKey.pemRepresentation,
                                         keyID: keyID)
    }

    /// `scheme://host[:port]` of a URL, or the whole string if it has no path.
    static func origin(of url: String) -> String {
        let parts = url.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false)
        // "https:", "", "host:port", "path..."
        guard parts.count >= 3, parts[0].hasSuffix(":"), parts[1].isEmpty, !parts[2].isEmpty else { return url }
        return parts[0] + "//" + parts[2]
    }

    /// Percent-encodes everything but unreserved characters (so `@` becomes `%40`, as in
    /// Google's `client_x509_cert_url`).
    static func percentEncode(_ s: String) -> String {
        var out = ""
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                 UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
