import Crypto
import Foundation
import Testing
import _CryptoExtras
@testable import IAM

enum ServiceAccountFixtures {
    static let email = "app@my-project.iam.gserviceaccount.com"
    static let tokenURI = "http://127.0.0.1:8089/token"
    /// RSA key generation is slow: make one key for the whole suite.
    static let material: ServiceAccountKeyMaterial = try! ServiceAccountKeyFactory.make(
        projectID: "my-project", email: email, clientID: "112233445566778899001", tokenURI: tokenURI)
    static let keyFile: ServiceAccountKeyFile = try! JSONDecoder().decode(ServiceAccountKeyFile.self, from: material.keyFileJSON)
    static let publicKey = ServiceAccountPublicKey(pem: material.publicKeyPEM, serviceAccountEmail: email)
    static let now = Date(timeIntervalSince1970: 1_750_000_000)

    /// Builds an assertion the way google-auth's `service_account.Credentials` does:
    /// `json.dumps` layout, unpadded base64url, RS256 (PKCS#1 v1.5 with SHA-256).
    static func assertion(header: String? = nil, claims: [(String, String)]? = nil, iat: Int? = nil,
                          lifetime: Int = 3600, audience: String = tokenURI,
                          signWith pem: String = keyFile.privateKey) throws -> String {
        let issuedAt = iat ?? Int(now.timeIntervalSince1970)
        let headerJSON = header ?? #"{"typ": "JWT", "alg": "RS256", "kid": "\#(keyFile.privateKeyID)"}"#
        let fields = claims ?? [
            ("iat", "\(issuedAt)"), ("exp", "\(issuedAt + lifetime)"), ("iss", "\"\(email)\""),
            ("aud", "\"\(audience)\""), ("scope", "\"https://www.googleapis.com/auth/cloud-platform openid\""),
        ]
        let claimsJSON = "{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
        let input = Base64URL.encode(Data(headerJSON.utf8)) + "." + Base64URL.encode(Data(claimsJSON.utf8))
        let key = try _RSA.Signing.PrivateKey(pemRepresentation: pem)
        let signature = try key.signature(for: Data(input.utf8), padding: .insecurePKCS1v1_5)
        return input + "." + Base64URL.encode(signature.rawRepresentation)
    }

    static func verify(_ assertion: String, at time: Date = now, audience: String = tokenURI,
                       keys: [String: ServiceAccountPublicKey]? = nil) throws(JWTBearerError) -> JWTBearerClaims {
        let table = keys ?? [keyFile.privateKeyID: publicKey]
        return try JWTBearerAssertion.verify(assertion, publicKey: { table[$0] }, expectedAudience: audience, now: time)
    }
}

@Suite("Service account keys")
struct ServiceAccountKeyTests {
    @Test func keyFileHasGooglesExactFieldsAndOrder() throws {
        let text = String(decoding: ServiceAccountFixtures.material.keyFileJSON, as: UTF8.self)
        let order = ["type", "project_id", "private_key_id", "private_key", "client_email", "client_id", "auth_uri",
                     "token_uri", "auth_provider_x509_cert_url", "client_x509_cert_url", "universe_domain"]
        let positions = order.map { text.range(of: "\"\($0)\": ")?.lowerBound }
        #expect(positions.allSatisfy { $0 != nil })
        #expect(positions.compactMap { $0 } == positions.compactMap { $0 }.sorted())
        #expect(text.hasPrefix("{\n  \"type\": \"service_account\",\n"))
        #expect(text.hasSuffix("\"\n}\n"))

        let object = try #require(try JSONSerialization.jsonObject(with: ServiceAccountFixtures.material.keyFileJSON) as? [String: String])
        #expect(Set(object.keys) == Set(order))
        #expect(object["client_x509_cert_url"] == "http://127.0.0.1:8089/robot/v1/metadata/x509/app%40my-project.iam.gserviceaccount.com")
        #expect(object["auth_uri"] == "http://127.0.0.1:8089/o/oauth2/auth")
        #expect(object["auth_provider_x509_cert_url"] == "http://127.0.0.1:8089/oauth2/v1/certs")
        #expect(object["universe_domain"] == "googleapis.com")

        let file = ServiceAccountFixtures.keyFile
        #expect(file.type == "service_account")
        #expect(file.projectID == "my-project")
        #expect(file.clientEmail == ServiceAccountFixtures.email)
        #expect(file.clientID == "112233445566778899001")
        #expect(file.tokenURI == ServiceAccountFixtures.tokenURI)
        #expect(file.privateKeyID == ServiceAccountFixtures.material.keyID)
        #expect(file.privateKeyID.count == 40 && file.privateKeyID.allSatisfy(\.isHexDigit))
        #expect(file.privateKey.hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
        #expect(file.privateKey.hasSuffix("-----END PRIVATE KEY-----\n"))
        #expect(!text.contains("\\/"))  // slashes unescaped, as Google writes them
    }

    @Test func privateKeyIsRSA2048MatchingThePublicKey() throws {
        let privateKey = try _RSA.Signing.PrivateKey(pemRepresentation: ServiceAccountFixtures.keyFile.privateKey)
        #expect(privateKey.keySizeInBits == 2048)
        let publicKey = try _RSA.Signing.PublicKey(pemRepresentation: ServiceAccountFixtures.material.publicKeyPEM)
        #expect(publicKey.derRepresentation == privateKey.publicKey.derRepresentation)
        #expect(ServiceAccountFixtures.material.publicKeyPEM.hasPrefix("-----BEGIN PUBLIC KEY-----"))
        #expect(!ServiceAccountFixtures.material.publicKeyPEM.contains("PRIVATE"))
    }

    @Test func originAndEncodingHelpers() {
        #expect(ServiceAccountKeyFactory.origin(of: "https://oauth2.googleapis.com/token") == "https://oauth2.googleapis.com")
        #expect(ServiceAccountKeyFactory.origin(of: "http://[::1]:80/a/b") == "http://[::1]:80")
        #expect(ServiceAccountKeyFactory.percentEncode("a b@c/d") == "a%20b%40c%2Fd")
    }
}

@Suite("JWT bearer assertions")
struct JWTBearerAssertionTests {
    typealias F = ServiceAccountFixtures

    @Test func acceptsGoogleAuthsAssertion() throws {
        let claims = try F.verify(try F.assertion())
        #expect(claims.issuer == F.email)
        #expect(claims.scopes == ["https://www.googleapis.com/auth/cloud-platform", "openid"])
        #expect(claims.keyID == F.keyFile.privateKeyID)
        #expect(claims.targetAudience == nil)
        #expect(claims.expiresAt.timeIntervalSince(claims.issuedAt) == 3600)
    }

    @Test func acceptsIDTokenRequests() throws {
        let iat = Int(F.now.timeIntervalSince1970)
        let assertion = try F.assertion(claims: [
            ("iat", "\(iat)"), ("exp", "\(iat + 3600)"), ("iss", "\"\(F.email)\""), ("aud", "\"\(F.tokenURI)\""),
            ("target_audience", "\"https://service.example\""),
        ])
        let claims = try F.verify(assertion)
        #expect(claims.scopes.isEmpty)
        #expect(claims.targetAudience == "https://service.example")
    }

    @Test func acceptsTheLibrarysOwnSigner() throws {
        let assertion = try JWTBearerAssertion.sign(keyFile: F.keyFile, scopes: ["a", "b"], now: F.now)
        #expect(assertion == (try F.assertion(claims: [
            ("iat", "1750000000"), ("exp", "1750003600"), ("iss", "\"\(F.email)\""), ("aud", "\"https://oauth2.googleapis.com/token\""),
            ("scope", "\"a b\""),
        ])))
        #expect(try F.verify(assertion).scopes == ["a", "b"])
    }

    @Test func clockSkewOfAMinuteIsAllowed() throws {
        let assertion = try F.assertion()
        _ = try F.verify(assertion, at: F.now.addingTimeInterval(-59))  // client clock ahead
        _ = try F.verify(assertion, at: F.now.addingTimeInterval(3600 + 59))  // just expired
        #expect(throws: JWTBearerError.self) { try F.verify(assertion, at: F.now.addingTimeInterval(-61)) }
        #expect(throws: JWTBearerError.self) { try F.verify(assertion, at: F.now.addingTimeInterval(3600 + 61)) }
    }

    @Test func rejectsExpired() throws {
        let error = #expect(throws: JWTBearerError.self) { try F.verify(try F.assertion(), at: F.now.addingTimeInterval(7200)) }
        #expect(error == .badLifetime("the assertion has expired"))
        #expect(error?.description.hasPrefix("Invalid JWT: Token must be a short-lived token (60 minutes)") == true)
    }

    @Test func rejectsLongLifetimes() throws {
        #expect(throws: JWTBearerError.badLifetime("exp is more than an hour after iat")) {
            try F.verify(try F.assertion(lifetime: 3601))
        }
        #expect(throws: JWTBearerError.badLifetime("exp is not after iat")) { try F.verify(try F.assertion(lifetime: 0)) }
    }

    @Test func rejectsWrongAudience() throws {
        #expect(throws: JWTBearerError.wrongAudience) {
            try F.verify(try F.assertion(audience: "https://evil.example/token"))
        }
        #expect(throws: JWTBearerError.wrongAudience) { try F.verify(try F.assertion(), audience: "http://other/token") }
        let table = [F.keyFile.privateKeyID: F.publicKey]
        #expect(throws: JWTBearerError.wrongAudience) {
            try JWTBearerAssertion.verify(try F.assertion(audience: JWTBearerAssertion.googleTokenAudience),
                                          publicKey: { table[$0] }, expectedAudiences: [F.tokenURI], now: F.now)
        }
    }

    /// google-auth names Google's token endpoint as `aud` even when `token_uri` points elsewhere.
    @Test func acceptsGooglesAudience() throws {
        _ = try F.verify(try F.assertion(audience: "https://oauth2.googleapis.com/token"))
        let claims = try F.verify(try F.assertion(audience: "https://oauth2.googleapis.com/token"), audience: "http://other/token")
        #expect(claims.issuer == F.email)
    }

    @Test func rejectsBadSignatures() throws {
        let good = try F.assertion()
        var parts = good.split(separator: ".").map(String.init)
        // Claims changed after signing.
        let forgedClaims = #"{"iat": 1750000000, "exp": 1750003600, "iss": "\#(F.email)", "aud": "\#(F.tokenURI)", "scope": "admin"}"#
        let tampered = [parts[0], Base64URL.encode(Data(forgedClaims.utf8)), parts[2]].joined(separator: ".")
        #expect(throws: JWTBearerError.badSignature) { try F.verify(tampered) }
        // Signature bytes flipped.
        var signature = Base64URL.decode(parts[2])!
        signature[10] ^= 0x01
        parts[2] = Base64URL.encode(signature)
        #expect(throws: JWTBearerError.badSignature) { try F.verify(parts.joined(separator: ".")) }
        // Signed by a different key that claims the same kid.
        let otherKey = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        #expect(throws: JWTBearerError.badSignature) { try F.verify(try F.assertion(signWith: otherKey.pkcs8PEMRepresentation)) }
        #expect(JWTBearerError.badSignature.description == "Invalid JWT Signature.")
    }

    @Test func rejectsUnknownKid() throws {
        #expect(throws: JWTBearerError.unknownKey) { try F.verify(try F.assertion(), keys: [:]) }
        let noKid = try F.assertion(header: #"{"typ": "JWT", "alg": "RS256"}"#)
        #expect(throws: JWTBearerError.missingKeyID) { try F.verify(noKid) }
    }

    @Test func rejectsAKeyOwnedBySomeoneElse() throws {
        let keys = [F.keyFile.privateKeyID: ServiceAccountPublicKey(pem: F.material.publicKeyPEM, serviceAccountEmail: "other@p.iam.gserviceaccount.com")]
        #expect(throws: JWTBearerError.wrongIssuer) { try F.verify(try F.assertion(), keys: keys) }
    }

    @Test func rejectsDomainWideDelegation() throws {
        let iat = Int(F.now.timeIntervalSince1970)
        let assertion = try F.assertion(claims: [
            ("iat", "\(iat)"), ("exp", "\(iat + 3600)"), ("iss", "\"\(F.email)\""), ("aud", "\"\(F.tokenURI)\""),
            ("scope", "\"s\""), ("sub", "\"ceo@example.com\""),
        ])
        #expect(throws: JWTBearerError.invalidClaim("domain-wide delegation (sub) is not supported.")) { try F.verify(assertion) }
    }

    @Test(arguments: [
        (#"{"alg":"none","typ":"JWT","kid":"KID"}"#, "none"),
        (#"{"alg":"HS256","typ":"JWT","kid":"KID"}"#, "HS256"),
        (#"{"alg":"RS512","typ":"JWT","kid":"KID"}"#, "RS512"),
        (#"{"typ":"JWT","kid":"KID"}"#, ""),
    ])
    func rejectsOtherAlgorithms(_ header: String, _ alg: String) throws {
        let kid = F.keyFile.privateKeyID
        let h = header.replacingOccurrences(of: "KID", with: kid)
        let claims = #"{"iat": 1750000000, "exp": 1750003600, "iss": "\#(F.email)", "aud": "\#(F.tokenURI)", "scope": "s"}"#
        // alg none: empty signature, as in the classic attack.
        let unsigned = Base64URL.encode(Data(h.utf8)) + "." + Base64URL.encode(Data(claims.utf8)) + "."
        #expect(throws: JWTBearerError.unsupportedAlgorithm(alg)) { try F.verify(unsigned) }
    }

    @Test(arguments: ["", "a.b", "a.b.c.d", "!!.e30.AA", "e30.e30.AA", String(repeating: "A", count: 20_000)])
    func rejectsGarbage(_ assertion: String) {
        #expect(throws: JWTBearerError.self) { try F.verify(assertion) }
    }
}
