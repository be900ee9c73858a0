import Crypto
import Foundation
import Testing
@testable import IAM

@Suite("Signing keys")
struct SigningKeySetTests {
    let now = Date(timeIntervalSince1970: 1_750_000_000)

    @Test func generatedKeysHaveHexIDs() {
        let key = SigningKey.generate()
        #expect(key.keyID.count == 16 && key.keyID.allSatisfy(\.isHexDigit))
        #expect(SigningKey.generate().keyID != key.keyID)
    }

    @Test func rotationKeepsOldTokensValidUntilTheKeyIsRemoved() throws {
        var set = SigningKeySet()
        #expect(set.issuer == nil)
        let first = set.generateKey()
        let old = try #require(set.issuer).mint(principal: .user("a@b.co"), now: now)
        let second = set.generateKey()
        #expect(set.activeKeyID == second.keyID)
        let new = try #require(set.issuer).mint(principal: .user("a@b.co"), now: now)
        #expect(new.claims.keyID == second.keyID)
        #expect(try set.verifier().verify(old.token, now: now).keyID == first.keyID)
        set.removeKey(keyID: first.keyID)
        #expect(throws: TokenError.unknownKey) { try set.verifier().verify(old.token, now: now) }
        _ = try set.verifier().verify(new.token, now: now)
    }

    @Test func privateKeysRoundTripThroughStorage() throws {
        var set = SigningKeySet()
        set.generateKey()
        set.generateKey()
        let token = try #require(set.issuer).mint(principal: .user("a@b.co"), now: now)
        let stored = set.serializedPrivateKeys()
        #expect(stored.count == 2)
        for value in stored.values { #expect(Data(base64Encoded: value)?.count == 32) }
        let restored = try SigningKeySet(serializedPrivateKeys: stored, activeKeyID: set.activeKeyID)
        #expect(restored.activeKeyID == set.activeKeyID)
        _ = try restored.verifier().verify(token.token, now: now)
        let again = try #require(restored.issuer).mint(principal: .user("a@b.co"), now: now)
        _ = try set.verifier().verify(again.token, now: now)
    }

    @Test func storageErrors() {
        #expect(throws: SigningKeyError.self) { try SigningKeySet(serializedPrivateKeys: ["k1": "not base64!"], activeKeyID: nil) }
        #expect(throws: SigningKeyError.self) { try SigningKeySet(serializedPrivateKeys: ["k1": "AAAA"], activeKeyID: nil) }
        let good = SigningKey.generate()
        #expect(throws: SigningKeyError.self) {
            try SigningKeySet(serializedPrivateKeys: [good.keyID: good.serializedPrivateKey], activeKeyID: "missing")
        }
        #expect(throws: SigningKeyError.self) {
            try SigningKey(keyID: "bad kid!", privateKey: Curve25519.Signing.PrivateKey())
        }
    }

    @Test func jwksExportAndImport() throws {
        var set = SigningKeySet()
        let a = set.generateKey()
        let b = set.generateKey()
        let jwks = set.exportJWKS()
        let json = try #require(try JSONSerialization.jsonObject(with: jwks) as? [String: Any])
        let keys = try #require(json["keys"] as? [[String: String]])
        #expect(keys.count == 2)
        for key in keys {
            #expect(key["kty"] == "OKP")
            #expect(key["crv"] == "Ed25519")
            #expect(key["alg"] == "EdDSA")
            #expect(key["use"] == "sig")
            #expect(key["x"].flatMap { Base64URL.decode($0) }?.count == 32)
            #expect(key["d"] == nil)  // never the private half
        }
        let imported = try SigningKeySet.importJWKS(jwks)
        #expect(Set(imported.keys) == [a.keyID, b.keyID])
        #expect(imported[a.keyID]?.rawRepresentation == a.publicKey.rawRepresentation)
        let token = try #require(set.issuer).mint(principal: .user("a@b.co"), now: now)
        _ = try TokenVerifier(publicKeys: imported).verify(token.token, now: now)
    }

    @Test func jwksImportSkipsOtherKeyTypesAndRejectsBrokenOnes() throws {
        let mixed = #"{"keys":[{"kty":"RSA","kid":"r","n":"AQAB","e":"AQAB"},{"kty":"OKP","crv":"X25519","kid":"x","x":"AA"}]}"#
        #expect(try SigningKeySet.importJWKS(Data(mixed.utf8)).isEmpty)
        #expect(throws: SigningKeyError.self) { try SigningKeySet.importJWKS(Data("[]".utf8)) }
        #expect(throws: SigningKeyError.self) {
            try SigningKeySet.importJWKS(Data(#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k","x":"AAAA"}]}"#.utf8))
        }
        #expect(throws: SigningKeyError.self) {
            try SigningKeySet.importJWKS(Data(#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"AAAA"}]}"#.utf8))
        }
    }
}
