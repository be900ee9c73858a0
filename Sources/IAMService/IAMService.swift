import ControlPlane
import Crypto
import Foundation
import CEL
import IAM
import Storage
import Synchronization

/// Keygate's IAM: identities, credentials, the OAuth2 grants, project policies, and the
/// permission checks every API call and every login goes through. State lives in the
/// `StateStore`; signing keys and compiled policies are cached here for fast checks.
public final class IAMService: Sendable {
    enum Kind {
        static let signingKeys = "iam.signing-keys"
        static let serviceAccount = "iam.service-account"
        static let serviceAccountKey = "iam.service-account-key"
        static let policy = "iam.policy"
        static let refreshToken = "iam.refresh-token"
    }

    private let store: StateStore
    /// The token endpoint written into key files (`token_uri`) and expected as JWT audience.
    public let tokenURI: String
    private let keys: SigningKeySet
    private let compiled = Mutex<[String: CompiledPolicy]>([:])
    private let evaluator = PolicyEvaluator()

    public init(store: StateStore, tokenURI: String) throws {
        self.store = store
        self.tokenURI = tokenURI
        if let data = try store.document(kind: Kind.signingKeys, key: "default"),
           let saved = try? JSONDecoder().decode(SavedKeys.self, from: data) {
            keys = try SigningKeySet(serializedPrivateKeys: saved.keys, activeKeyID: saved.active)
        } else {
            var set = SigningKeySet()
            let key = set.generateKey()
            let saved = SavedKeys(keys: set.serializedPrivateKeys(), active: key.keyID)
            try store.putDocument(kind: Kind.signingKeys, key: "default", body: try JSONEncoder().encode(saved))
            keys = set
        }
    }

    private struct SavedKeys: Codable {
        var keys: [String: String]
        var active: String?
    }

    // MARK: First start

    /// Makes `owner` the project's owner and returns a new refresh token for it (the CLI's login).
    public func bootstrap(project: String, owner: String) throws -> String {
        let principal = try Principal(parsing: "user:\(owner)")
        var policy = try self.policy(project: project)
        if !policy.bindings.contains(where: { $0.role == "roles/owner" && $0.members.contains(principal.description) }) {
            policy = policy.adding(member: principal, role: "roles/owner")
            try storePolicy(policy, project: project)
        }
        return try issueRefreshToken(for: principal)
    }

    public func issueRefreshToken(for principal: Principal) throws -> String {
        let token = "kgr1." + Self.randomHex(32)
        try store.putDocument(kind: Kind.refreshToken, key: Self.digest(token), body: Data(principal.description.utf8))
        return token
    }

    // MARK: Tokens

    private var issuer: TokenIssuer {
        get throws(APIError) {
            guard let issuer = keys.issuer else { throw APIError(.internal, "IAM has no signing key.") }
            return issuer
        }
    }

    public func verifier() -> TokenVerifier { keys.verifier() }

    /// OAuth2 `refresh_token` grant.
    public func exchangeRefreshToken(_ refreshToken: String, now: Date = Date()) throws(OAuthError) -> MintedToken {
        guard refreshToken.count <= 256,
              let data = try? store.document(kind: Kind.refreshToken, key: Self.digest(refreshToken)),
              let principal = Principal(String(decoding: data, as: UTF8.self)) else {
            throw OAuthError(error: "invalid_grant", description: "Token has been expired or revoked.")
        }
        return try mint(principal, scopes: ["https://www.googleapis.com/auth/cloud-platform"], lifetime: TokenIssuer.defaultLifetime, now: now)
    }

    /// OAuth2 JWT-bearer grant (RFC 7523) with a service account key, as google-auth sends it.
    public func exchangeJWTBearer(_ assertion: String, now: Date = Date()) throws(OAuthError) -> MintedToken {
        let claims: JWTBearerClaims
        do {
            claims = try JWTBearerAssertion.verify(assertion, publicKey: { keyID in
                guard let data = try? self.store.document(kind: Kind.serviceAccountKey, key: keyID),
                      let key = try? JSONDecoder.iam.decode(ServiceAccountKeyRecord.self, from: data),
                      key.validBefore > now else { return nil }
                return ServiceAccountPublicKey(pem: key.publicKeyPEM, serviceAccountEmail: key.email)
            }, expectedAudience: tokenURI, now: now)
        } catch {
            throw OAuthError(error: "invalid_grant", description: "Invalid JWT Signature or claims: \(error)")
        }
        guard let account = try? serviceAccount(email: claims.issuer), !account.disabled else {
            throw OAuthError(error: "invalid_grant", description: "Invalid grant: account not found")
        }
        guard let principal = try? Principal(parsing: "serviceAccount:\(account.email)") else {
            throw OAuthError(error: "invalid_grant", description: "Invalid grant: bad account")
        }
        return try mint(principal, scopes: claims.scopes, lifetime: TokenIssuer.defaultLifetime, now: now)
    }

    /// IAM Credentials `generateAccessToken`: `caller` mints a token for a service account (up to 12 h).
    public func generateAccessToken(caller: Principal, serviceAccountEmail: String, scopes: [String],
                                    lifetime: Duration, now: Date = Date()) throws(APIError) -> MintedToken {
        guard let account = try? serviceAccount(email: serviceAccountEmail) else {
            throw APIError(.notFound, "Service account \(serviceAccountEmail) not found.")
        }
        try authorize(caller, .serviceAccountsGetAccessToken, .serviceAccount(project: account.project, email: account.email))
        guard !account.disabled else { throw APIError(.failedPrecondition, "Service account \(serviceAccountEmail) is disabled.") }
        guard lifetime <= TokenIssuer.maxLifetime, lifetime >= .seconds(1) else {
            throw APIError.invalidArgument("lifetime must be between 1s and 43200s (12 hours).")
        }
        do {
            return try mint(try Principal(parsing: "serviceAccount:\(account.email)"), scopes: scopes, lifetime: lifetime, now: now)
        } catch {
            throw APIError(.internal, "\(error)")
        }
    }

    private func mint(_ principal: Principal, scopes: [String], lifetime: Duration, now: Date) throws(OAuthError) -> MintedToken {
        do {
            return try issuer.mint(principal: principal, scopes: scopes, lifetime: lifetime, now: now)
        } catch {
            throw OAuthError(error: "server_error", description: "\(error)")
        }
    }

    // MARK: Authentication and authorization of API calls

    /// The principal of a bearer token, or UNAUTHENTICATED.
    public func authenticate(bearer header: String?, now: Date = Date()) throws(APIError) -> Principal {
        guard let header, header.lowercased().hasPrefix("bearer ") else {
            throw APIError(.unauthenticated, "Request is missing required authentication credential. Expected OAuth 2 access token.")
        }
        do {
            return try verifier().verify(String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces), now: now).principal
        } catch {
            throw APIError(.unauthenticated, "Request had invalid authentication credentials. Expected OAuth 2 access token.")
        }
    }

    public func isAllowed(_ principal: Principal, _ permission: Permission, _ resource: ResourceAttributes,
                          attributes: [String: CELValue] = [:]) -> Bool {
        guard let project = Self.project(of: resource.name), let policy = try? compiledPolicy(project: project) else { return false }
        return evaluator.isAllowed(principal: principal, permission: permission, resource: resource, policy: policy,
                                   requestTime: Date(), attributes: attributes)
    }

    /// PERMISSION_DENIED unless `principal` holds `permission` on `resource`, with Google's message.
    public func authorize(_ principal: Principal, _ permission: Permission, _ resource: ResourceAttributes) throws(APIError) {
        guard isAllowed(principal, permission, resource) else {
            throw APIError(.permissionDenied, "Permission '\(permission.rawValue)' denied on resource '\(resource.name)' (or it may not exist).")
        }
    }

    // MARK: Policies

    public func policy(project: String) throws -> Policy {
        guard let data = try store.document(kind: Kind.policy, key: project) else {
            return Policy().withComputedEtag()
        }
        return try JSONDecoder().decode(StoredPolicy.self, from: data).policy.withComputedEtag()
    }

    /// Every project's policy, compiled: the auth agent's snapshot.
    public func compiledPolicies() throws -> [String: CompiledPolicy] {
        var result: [String: CompiledPolicy] = [:]
        for data in try store.documents(kind: Kind.policy) {
            let stored = try JSONDecoder().decode(StoredPolicy.self, from: data)
            result[stored.project] = CompiledPolicy(stored.policy)
        }
        return result
    }

    private struct StoredPolicy: Codable {
        var project: String
        var policy: Policy
        init(project: String, policy: Policy) { self.project = project; self.policy = policy }
    }

    private func compiledPolicy(project: String) throws -> CompiledPolicy {
        if let cached = compiled.withLock({ $0[project] }) { return cached }
        let policy = CompiledPolicy(try self.policy(project: project))
        compiled.withLock { $0[project] = policy }
        return policy
    }

    /// `setIamPolicy`: validates (unknown roles, bad members, unparsable conditions are refused),
    /// checks the etag, and lets a caller with a conditional projectIamAdmin grant only what its
    /// condition allows (`modifiedGrantsByRole`).
    public func setPolicy(_ new: Policy, project: String, caller: Principal) throws(APIError) -> Policy {
        let current: Policy
        do { current = try policy(project: project) } catch { throw APIError(.internal, "\(error)") }
        do {
            try PolicyValidator().validate(new)
            try new.checkEtag(against: current)
        } catch PolicyError.etagMismatch {
            throw APIError(.aborted, "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.")
        } catch {
            throw APIError.invalidArgument("\(error)")
        }
        let modified = PolicyEvaluator.modifiedGrantsByRole(old: current, new: new)
        let attributes: [String: CELValue] = ["iam.googleapis.com/modifiedGrantsByRole": .list(modified.map { .string($0) })]
        guard isAllowed(caller, .projectsSetIamPolicy, .project(project), attributes: attributes) else {
            throw APIError(.permissionDenied, "Policy update access denied.")
        }
        do { try storePolicy(new, project: project) } catch { throw APIError(.internal, "\(error)") }
        do { return try policy(project: project) } catch { throw APIError(.internal, "\(error)") }
    }

    private func storePolicy(_ policy: Policy, project: String) throws {
        var clean = policy.normalized()
        clean.etag = nil
        if clean.hasConditions { clean.version = 3 }
        let data = try JSONEncoder().encode(StoredPolicy(project: project, policy: clean))
        try store.putDocument(kind: Kind.policy, key: project, project: project, body: data)
        compiled.withLock { $0[project] = nil }
    }

    // MARK: Service accounts

    public func createServiceAccount(project: String, accountID: String, displayName: String?, description: String?) throws(APIError) -> ServiceAccountRecord {
        let bytes = Array(accountID.utf8)
        let ok = (6...30).contains(bytes.count) && bytes[0] >= 97 && bytes[0] <= 122
            && bytes.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 } && bytes.last != 45
        guard ok else {
            throw APIError.invalidArgument("Invalid account ID \"\(accountID)\": 6 to 30 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen.")
        }
        let email = "\(accountID)@\(project).iam.gserviceaccount.com"
        let record = ServiceAccountRecord(project: project, accountID: accountID, email: email,
                                          uniqueID: String(UInt64.random(in: 100_000_000_000_000_000...999_999_999_999_999_999)),
                                          displayName: displayName, description: description, disabled: false)
        do {
            try store.putDocument(kind: Kind.serviceAccount, key: email, project: project, body: try JSONEncoder.iam.encode(record), mustNotExist: true)
        } catch let error as APIError {
            throw error.status == .alreadyExists ? APIError(.alreadyExists, "Service account \(accountID) already exists within project projects/\(project).") : error
        } catch {
            throw APIError(.internal, "\(error)")
        }
        return record
    }

    public func serviceAccount(email: String) throws -> ServiceAccountRecord {
        guard let data = try store.document(kind: Kind.serviceAccount, key: email) else {
            throw APIError(.notFound, "Unknown service account")
        }
        return try JSONDecoder.iam.decode(ServiceAccountRecord.self, from: data)
    }

    public func serviceAccounts(project: String) throws -> [ServiceAccountRecord] {
        try store.documents(kind: Kind.serviceAccount, project: project).map { try JSONDecoder.iam.decode(ServiceAccountRecord.self, from: $0) }
    }

    /// Deletes the account and its keys; tokens already minted live out their hour, as with Google.
    public func deleteServiceAccount(email: String) throws {
        _ = try serviceAccount(email: email)
        for key in try keys(email: email) { try store.deleteDocument(kind: Kind.serviceAccountKey, key: key.keyID) }
        try store.deleteDocument(kind: Kind.serviceAccount, key: email)
    }

    /// A new RSA key; returns the record and Google's JSON key file (the only copy of the private key).
    public func createKey(email: String, now: Date = Date()) throws -> (ServiceAccountKeyRecord, Data) {
        let account = try serviceAccount(email: email)
        let material = try ServiceAccountKeyFactory.make(projectID: account.project, email: account.email,
                                                         clientID: account.uniqueID, tokenURI: tokenURI)
        let record = ServiceAccountKeyRecord(email: email, project: account.project, keyID: material.keyID,
                                             publicKeyPEM: material.publicKeyPEM, validAfter: now,
                                             validBefore: now.addingTimeInterval(10 * 365 * 86400))
        try store.putDocument(kind: Kind.serviceAccountKey, key: record.keyID, project: email, body: try JSONEncoder.iam.encode(record))
        return (record, material.keyFileJSON)
    }

    public func keys(email: String) throws -> [ServiceAccountKeyRecord] {
        try store.documents(kind: Kind.serviceAccountKey, project: email).map { try JSONDecoder.iam.decode(ServiceAccountKeyRecord.self, from: $0) }
    }

    public func deleteKey(email: String, keyID: String) throws {
        guard try keys(email: email).contains(where: { $0.keyID == keyID }) else {
            throw APIError(.notFound, "Unknown key \(keyID) of service account \(email).")
        }
        try store.deleteDocument(kind: Kind.serviceAccountKey, key: keyID)
    }

    // MARK: Helpers

    /// `projects/P/...` → P.
    static func project(of resourceName: String) -> String? {
        let parts = resourceName.split(separator: "/")
        guard parts.count >= 2, parts[0] == "projects" else { return nil }
        return String(parts[1])
    }

    static func digest(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    static func randomHex(_ bytes: Int) -> String {
        (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    }
}

/// An OAuth2 token-endpoint error (`{"error", "error_description"}`, HTTP 400).
public struct OAuthError: Error, Sendable {
    public var error: String
    public var description: String

    public init(error: String, description: String) {
        self.error = error
        self.description = description
    }
}

extension JSONEncoder {
    static let iam: JSONEncoder = {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .secondsSince1970
        return e
    }()
}

extension JSONDecoder {
    static let iam: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .secondsSince1970
        return d
    }()
}
