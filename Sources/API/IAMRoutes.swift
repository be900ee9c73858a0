import ControlPlane
import Foundation
import Hummingbird
import IAM
import IAMService

/// IAM v1 (`projects.serviceAccounts.*`, `.keys.*`) and IAM Credentials v1 (`generateAccessToken`).
struct IAMRoutes {
    let iam: IAMService

    func register(on router: Router<BasicRequestContext>) {
        router.post("/v1/projects/:project/serviceAccounts") { request, context in
            let project = try context.parameters.require("project")
            try iam.authorize(try iam.caller(request), .serviceAccountsCreate, .project(project))
            let body = try await JSONBody.read(request, context: context)
            guard let accountID = body["accountId"]?.stringValue else { throw APIError.invalidArgument("accountId is required.") }
            let account = try iam.createServiceAccount(project: project, accountID: accountID,
                                                       displayName: body["serviceAccount"]?["displayName"]?.stringValue,
                                                       description: body["serviceAccount"]?["description"]?.stringValue)
            return JSONResponse.make(Self.json(account))
        }
        router.get("/v1/projects/:project/serviceAccounts") { request, context in
            let project = try context.parameters.require("project")
            try iam.authorize(try iam.caller(request), .serviceAccountsList, .project(project))
            let accounts = try iam.serviceAccounts(project: project)
            return JSONResponse.make(accounts.isEmpty ? [:] : ["accounts": .array(accounts.map(Self.json))])
        }
        router.get("/v1/projects/:project/serviceAccounts/:account") { request, context in
            let account = try account(context)
            try iam.authorize(try iam.caller(request), .serviceAccountsGet, .serviceAccount(project: account.project, email: account.email))
            return JSONResponse.make(Self.json(account))
        }
        router.delete("/v1/projects/:project/serviceAccounts/:account") { request, context in
            let account = try account(context)
            try iam.authorize(try iam.caller(request), .serviceAccountsDelete, .serviceAccount(project: account.project, email: account.email))
            try iam.deleteServiceAccount(email: account.email)
            return JSONResponse.make([:])
        }
        // `…/serviceAccounts/{email}:generateAccessToken` (IAM Credentials v1; project is `-`).
        router.post("/v1/projects/:project/serviceAccounts/:account") { request, context in
            let segment = try context.parameters.require("account")
            guard segment.hasSuffix(":generateAccessToken") else { throw APIError.notFound("Method not found: \(segment)") }
            let email = String(segment.dropLast(":generateAccessToken".count))
            let caller = try iam.caller(request)
            let body = try await JSONBody.read(request, context: context)
            var lifetime = TokenIssuer.defaultLifetime
            if let text = body["lifetime"]?.stringValue {
                guard text.hasSuffix("s"), let seconds = Double(text.dropLast()) else {
                    throw APIError.invalidArgument("Invalid lifetime \"\(text)\": expected a duration in seconds such as \"3600s\".")
                }
                lifetime = .seconds(seconds)
            }
            let scopes = body["scope"]?.arrayValue?.compactMap(\.stringValue) ?? []
            let minted = try iam.generateAccessToken(caller: caller, serviceAccountEmail: email, scopes: scopes, lifetime: lifetime)
            return JSONResponse.make(["accessToken": .string(minted.token), "expireTime": .string(GoogleTimestamp.string(minted.claims.expiresAt))])
        }
        router.post("/v1/projects/:project/serviceAccounts/:account/keys") { request, context in
            let account = try account(context)
            try iam.authorize(try iam.caller(request), .serviceAccountKeysCreate, .serviceAccount(project: account.project, email: account.email))
            let (key, file) = try iam.createKey(email: account.email)
            guard case .object(var json) = Self.json(key) else { throw APIError(.internal, "key encoding") }
            json["privateKeyType"] = "TYPE_GOOGLE_CREDENTIALS_FILE"
            json["privateKeyData"] = .string(file.base64EncodedString())
            return JSONResponse.make(.object(json))
        }
        router.get("/v1/projects/:project/serviceAccounts/:account/keys") { request, context in
            let account = try account(context)
            try iam.authorize(try iam.caller(request), .serviceAccountKeysList, .serviceAccount(project: account.project, email: account.email))
            return JSONResponse.make(["keys": .array(try iam.keys(email: account.email).map(Self.json))])
        }
        router.delete("/v1/projects/:project/serviceAccounts/:account/keys/:key") { request, context in
            let account = try account(context)
            try iam.authorize(try iam.caller(request), .serviceAccountKeysDelete, .serviceAccount(project: account.project, email: account.email))
            try iam.deleteKey(email: account.email, keyID: try context.parameters.require("key"))
            return JSONResponse.make([:])
        }
    }

    /// `{account}` is an email or unique id; project `-` means "find it".
    private func account(_ context: BasicRequestContext) throws -> ServiceAccountRecord {
        let id = try context.parameters.require("account")
        let project = try context.parameters.require("project")
        guard let account = try? iam.serviceAccount(email: id), project == "-" || account.project == project else {
            throw APIError.notFound("Service account projects/\(project)/serviceAccounts/\(id) does not exist.")
        }
        return account
    }

    static func json(_ a: ServiceAccountRecord) -> JSONValue {
        var o: [String: JSONValue] = [
            "name": .string(a.resourceName), "projectId": .string(a.project), "uniqueId": .string(a.uniqueID),
            "email": .string(a.email), "oauth2ClientId": .string(a.uniqueID),
            "etag": .string(Data(a.uniqueID.utf8).base64EncodedString()),
        ]
        if let d = a.displayName { o["displayName"] = .string(d) }
        if let d = a.description { o["description"] = .string(d) }
        if a.disabled { o["disabled"] = true }
        return .object(o)
    }

    static func json(_ k: ServiceAccountKeyRecord) -> JSONValue {
        ["name": .string(k.resourceName), "validAfterTime": .string(GoogleTimestamp.string(k.validAfter)),
         "validBeforeTime": .string(GoogleTimestamp.string(k.validBefore)), "keyAlgorithm": "KEY_ALG_RSA_2048",
         "keyOrigin": "GOOGLE_PROVIDED", "keyType": "USER_MANAGED"]
    }
}

/// Resource Manager v3: `projects.get`, `getIamPolicy`, `setIamPolicy`, `testIamPermissions`.
struct ResourceManagerRoutes {
    let iam: IAMService

    func register(on router: Router<BasicRequestContext>) {
        router.get("/v3/projects/:project") { request, context in
            let project = try context.parameters.require("project")
            try iam.authorize(try iam.caller(request), .projectsGet, .project(project))
            return JSONResponse.make(["name": .string("projects/\(project)"), "projectId": .string(project),
                                      "state": "ACTIVE", "displayName": .string(project)])
        }
        router.post("/v3/projects/:project") { request, context in
            let segment = try context.parameters.require("project")
            guard let colon = segment.lastIndex(of: ":") else { throw APIError.notFound("Method not found.") }
            let project = String(segment[..<colon])
            let verb = segment[segment.index(after: colon)...]
            let caller = try iam.caller(request)
            let body = try await JSONBody.read(request, context: context)
            switch verb {
            case "getIamPolicy":
                try iam.authorize(caller, .projectsGetIamPolicy, .project(project))
                return try Self.policyResponse(try iam.policy(project: project))
            case "setIamPolicy":
                guard let policyJSON = body["policy"] else { throw APIError.invalidArgument("policy is required.") }
                let policy: Policy
                do {
                    policy = try JSONDecoder().decode(Policy.self, from: JSONEncoder().encode(policyJSON))
                } catch {
                    throw APIError.invalidArgument("Invalid policy: \(error)")
                }
                return try Self.policyResponse(try iam.setPolicy(policy, project: project, caller: caller))
            case "testIamPermissions":
                let asked = body["permissions"]?.arrayValue?.compactMap(\.stringValue) ?? []
                let held = asked.filter { iam.isAllowed(caller, Permission($0), .project(project)) }
                return JSONResponse.make(held.isEmpty ? [:] : ["permissions": .array(held.map { .string($0) })])
            default:
                throw APIError.notFound("Method not found: \(verb)")
            }
        }
    }

    static func policyResponse(_ policy: Policy) throws -> Response {
        JSONResponse.make(try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(policy)))
    }
}

/// IAM v1 `roles.get` / `roles.list`: the predefined roles and their permissions.
struct RoleRoutes {
    func register(on router: Router<BasicRequestContext>) {
        router.get("/v1/roles") { request, _ in
            let full = request.uri.queryParameters.get("view") == "FULL"
            return JSONResponse.make(["roles": .array(RoleCatalog.predefined.roles.map { Self.json($0, full: full) })])
        }
        router.get("/v1/roles/:role") { _, context in
            let name = "roles/\(try context.parameters.require("role"))"
            guard let role = RoleCatalog.predefined.role(named: name) else {
                throw APIError.notFound("Role \(name) not found.")
            }
            return JSONResponse.make(Self.json(role, full: true))
        }
    }

    static func json(_ role: Role, full: Bool) -> JSONValue {
        var o: [String: JSONValue] = ["name": .string(role.name), "title": .string(role.title),
                                      "description": .string(role.description), "stage": .string(role.stage),
                                      "etag": .string(role.etag)]
        if full { o["includedPermissions"] = .array(role.includedPermissions.map { .string($0.rawValue) }) }
        return .object(o)
    }
}
