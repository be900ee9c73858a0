import Crypto
import Foundation
import Testing
@testable import IAM

enum TokenFixtures {
    static let key = SigningKey.generate()
    static let issuer = TokenIssuer(key: key)
    static let verifier = TokenVerifier(publicKeys: [key.keyID: key.publicKey])
    static let now = Date(timeIntervalSince1970: 1_750_000_000.75)
    static let owner = Principal.user("owner@keygate.local")

    static func mint(lifetime: Duration = TokenIssuer.defaultLifetime) throws -> MintedToken {
        try issuer.mint(principal: owner, scopes: ["https://www.googleapis.com/auth/cloud-platform"], lifetime: lifetime, now: now)
    }

    static func claimsJSON(of token: String) -> [String: Any] {
        let part = token.split(separator: ".")[1]
        let data = Base64URL.decode(part)!
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }
}

@Suite("Access tokens")
struct TokenTests {
    @Test func mintsTheDocumentedFormat() throws {
        let minted = try TokenFixtures.mint()
        let parts = minted.token.split(separator: ".", omittingEmptySubsequences: false)
        #expect(parts.count == 3)
        #expect(parts[0] == "kg1")
        #expect(!minted.token.contains("=") && !minted.token.contains("+") && !minted.token.contains("/"))
        #expect(Base64URL.decode(parts[2])?.count == 64)

        let claims = TokenFixtures.claimsJSON(of: minted.token)
        #expect(Set(claims.keys) == ["sub", "iat", "exp", "jti", "kid", "scp"])
        #expect(claims["sub"] as? String == "user:owner@keygate.local")
        #expect(claims["iat"] as? Int == 1_750_000_000)
        #expect(claims["exp"] as? Int == 1_750_003_600)
        #expect(claims["kid"] as? String == TokenFixtures.key.keyID)
        #expect(claims["scp"] as? [String] == ["https://www.googleapis.com/auth/cloud-platform"])
        let jti = try #require(claims["jti"] as? String)
        #expect(jti.count == 32 && jti.allSatisfy(\.isHexDigit))
        #expect(minted.tokenID == jti)
        #expect(minted.expiresAt == Date(timeIntervalSince1970: 1_750_003_600))
    }

    @Test func tokenIDsAreUnique() throws {
        let ids = try (0..<50).map { _ in try TokenFixtures.mint().tokenID }
        #expect(Set(ids).count == 50)
    }

    @Test func verifiesItsOwnTokens() throws {
        let minted = try TokenFixtures.mint()
        let claims = try TokenFixtures.verifier.verify(minted.token, now: TokenFixtures.now)
        #expect(claims == minted.claims)
        #expect(claims.principal == TokenFixtures.owner)
    }

    @Test(arguments: [1, 3600, 43_200])
    func acceptsLifetimesUpTo12Hours(_ seconds: Int) throws {
        let minted = try TokenFixtures.mint(lifetime: .seconds(seconds))
        #expect(minted.expiresAt.timeIntervalSince(minted.claims.issuedAt) == Double(seconds))
    }

    @Test(arguments: [0, -5, 43_201, 86_400])
    func rejectsOtherLifetimes(_ seconds: Int) {
        #expect(throws: TokenError.invalidLifetime) { try TokenFixtures.mint(lifetime: .seconds(seconds)) }
    }

    @Test func expiry() throws {
        let minted = try TokenFixtures.mint()
        let justBefore = minted.expiresAt.addingTimeInterval(-0.001)
        #expect(try TokenFixtures.verifier.verify(minted.token, now: justBefore).tokenID == minted.tokenID)
        #expect(throws: TokenError.expired) { try TokenFixtures.verifier.verify(minted.token, now: minted.expiresAt) }
        let lenient = TokenVerifier(publicKeys: [TokenFixtures.key.keyID: TokenFixtures.key.publicKey], leeway: .seconds(30))
        _ = try lenient.verify(minted.token, now: minted.expiresAt.addingTimeInterval(29))
        #expect(throws: TokenError.expired) { try lenient.verify(minted.token, now: minted.expiresAt.addingTimeInterval(30)) }
    }

    @Test func revocation() throws {
        let minted = try TokenFixtures.mint()
        let other = try TokenFixtures.mint()
        let keys = [TokenFixtures.key.keyID: TokenFixtures.key.publicKey]
        let bySet = TokenVerifier(publicKeys: keys, revokedTokenIDs: [minted.tokenID])
        #expect(throws: TokenError.revoked) { try bySet.verify(minted.token, now: TokenFixtures.now) }
        _ = try bySet.verify(other.token, now: TokenFixtures.now)
        let byClosure = TokenVerifier(publicKeys: keys, isRevoked: { $0 == other.tokenID })
        #expect(throws: TokenError.revoked) { try byClosure.verify(other.token, now: TokenFixtures.now) }
    }

    @Test func unknownKey() throws {
        let minted = try TokenFixtures.mint()
        let stranger = SigningKey.generate()
        let verifier = TokenVerifier(publicKeys: [stranger.keyID: stranger.publicKey])
        #expect(throws: TokenError.unknownKey) { try verifier.verify(minted.token, now: TokenFixtures.now) }
    }

    /// A key that claims a known kid still has to produce a valid signature.
    @Test func forgedWithAnotherKeyUnderAKnownKid() throws {
        let forger = TokenIssuer(signingKey: Curve25519.Signing.PrivateKey(), keyID: TokenFixtures.key.keyID)
        let forged = try forger.mint(principal: TokenFixtures.owner, now: TokenFixtures.now)
        #expect(throws: TokenError.badSignature) { try TokenFixtures.verifier.verify(forged.token, now: TokenFixtures.now) }
    }

    @Test func tamperedClaimsFailTheSignature() throws {
        let minted = try TokenFixtures.mint()
        let parts = minted.token.split(separator: ".").map(String.init)
        var claims = TokenFixtures.claimsJSON(of: minted.token)
        claims["sub"] = "user:attacker@example.com"
        claims["exp"] = 4_000_000_000
        let data = try JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys])
        let tampered = [parts[0], Base64URL.encode(data), parts[2]].joined(separator: ".")
        #expect(throws: TokenError.badSignature) { try TokenFixtures.verifier.verify(tampered, now: TokenFixtures.now) }
    }

    @Test func signatureIsCheckedBeforeClaims() throws {
        // Garbage claims with a valid kid: expiry and principal are never looked at.
        let claims = #"{"kid":"\#(TokenFixtures.key.keyID)","sub":"nobody","exp":"soon"}"#
        let token = "kg1." + Base64URL.encode(Data(claims.utf8)) + "." + Base64URL.encode(Data(repeating: 7, count: 64))
        #expect(throws: TokenError.badSignature) { try TokenFixtures.verifier.verify(token, now: TokenFixtures.now) }
    }

    @Test(arguments: [
        "", "kg1", "kg1.", "kg1..", "kg1.a.b", "kg2.e30.AAAA", "kg1.e30.AAAA.AAAA", "Bearer kg1.e30.AAAA",
        "kg1.!!!.AAAA", "kg1.e30.====", "kg1.e30." + String(repeating: "A", count: 86),  // {} has no kid
        "kg1.bnVsbA." + String(repeating: "A", count: 86),  // null
        "kg1." + String(repeating: "A", count: 20_000) + ".AAAA",
    ])
    func malformed(_ token: String) {
        #expect(throws: TokenError.malformed) { try TokenFixtures.verifier.verify(token, now: TokenFixtures.now) }
    }

    @Test func rejectsOversizedTokensEvenIfOtherwiseValid() throws {
        let minted = try TokenFixtures.issuer.mint(
            principal: TokenFixtures.owner, scopes: Array(repeating: "scope", count: 2500), now: TokenFixtures.now)
        #expect(minted.token.utf8.count > TokenVerifier.maxTokenLength)
        #expect(throws: TokenError.malformed) { try TokenFixtures.verifier.verify(minted.token, now: TokenFixtures.now) }
    }

    @Test func errorsNeverEchoTheToken() {
        for error in [TokenError.malformed, .unknownKey, .badSignature, .expired, .revoked, .invalidLifetime, .signingFailed] {
            #expect(!error.description.contains("kg1."))
        }
    }

    /// Random strings, every truncation and single-character mutations of a real token: the
    /// verifier must throw (never crash, never accept) for all of them.
    @Test func fuzz() throws {
        let minted = try TokenFixtures.mint()
        let token = Array(minted.token)
        var rng = SeededGenerator(seed: 7)
        let alphabet = Array("kg1.AZaz09-_=+/ \u{0}é{}\":,")
        var candidates: [String] = []
        for _ in 0..<2000 {
            let length = Int(rng.next() % 200)
            candidates.append(String((0..<length).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }))
        }
        for _ in 0..<500 {
            // Random prefix and junk after "kg1.".
            let length = Int(rng.next() % 120)
            candidates.append("kg1." + String((0..<length).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }))
        }
        for cut in 0..<token.count { candidates.append(String(token[..<cut])) }
        for _ in 0..<800 {
            var mutated = token
            let i = Int(rng.next() % UInt64(token.count))
            mutated[i] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
            if mutated != token { candidates.append(String(mutated)) }
        }
        // Base64url is decoded canonically, so not even a re-spelling of the same bytes passes.
        for candidate in candidates {
            #expect(throws: TokenError.self) { try TokenFixtures.verifier.verify(candidate, now: TokenFixtures.now) }
        }
    }
}

/// Deterministic generator, so a fuzz failure can be replayed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Base64url")
struct Base64URLTests {
    @Test(arguments: [[UInt8](), [0], [0xFF, 0xEE], [1, 2, 3], Array(0...255)])
    func roundTrips(_ bytes: [UInt8]) {
        let text = Base64URL.encode(bytes)
        #expect(!text.contains("=") && !text.contains("+") && !text.contains("/"))
        #expect(Base64URL.decode(text) == Data(bytes))
    }

    @Test(arguments: ["AB", "AA==", "A", "AA AA", "AA\n", "+/", "é"])
    func rejectsNonCanonicalOrForeignText(_ text: String) {
        #expect(Base64URL.decode(text) == nil)
    }
}
