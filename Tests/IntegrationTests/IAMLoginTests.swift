import ControlPlane
import Crypto
import Foundation
import IAM
import LocalProcess
import RESP
import Testing
import ValkeyRuntime

/// The IAM-logins acceptance list: real keygated, real Valkey nodes with the C module, the stock
/// redis-cli, and tokens from the real CLI and token endpoint.
@Suite(.serialized)
struct IAMLoginTests {
    static let wrongpass = "WRONGPASS invalid username-password pair or user is disabled."
    static let noauth = "NOAUTH Authentication required."
    static let exhausted = "ERR (ERR_IAM_EXHAUSTED) Memorystore IAM authentication backend quota exceeded. See https://cloud.google.com/memorystore/docs/cluster/manage-iam-auth#error_messages."
    static let other = "ERR (ERR_IAM_OTHER) Memorystore IAM authentication backend error. See https://cloud.google.com/memorystore/docs/cluster/manage-iam-auth#error_messages."

    static func createIAMCluster(_ cloud: LocalCloud, _ id: String, shards: Int = 3) throws -> Int {
        try cloud.ok(["redis", "clusters", "create", id, "--region=us-central1", "--shard-count=\(shards)",
                      "--node-type=redis-shared-core-nano", "--auth-mode=iam-auth"])
        return try cloud.discoveryPort(id)
    }

    static func token(_ cloud: LocalCloud, _ extra: [String] = []) throws -> String {
        try cloud.ok(["auth", "print-access-token"] + extra).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The first line redis-cli prints for a command sent with `-a token` (its AUTH error, or the reply).
    static func reply(_ cloud: LocalCloud, port: Int, token: String?, _ command: [String]) throws -> String {
        var extra = ["--no-auth-warning"]
        if let token { extra += ["-a", token] }
        let result = try cloud.redisCLI(port: port, command, extra: extra)
        // redis-cli reports a failed AUTH on stderr ("AUTH failed: …"), then runs the command anyway.
        let text = result.stderr.isEmpty ? result.stdout : result.stderr
        let first = text.split(separator: "\n").first.map(String.init) ?? ""
        return first.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "AUTH failed: ", with: "")
    }

    @Test func seedWalkthroughWithRedisCLI() throws {
        let cloud = try LocalCloud()
        defer { cloud.stop() }
        let port = try Self.createIAMCluster(cloud, "seed")
        #expect(try cloud.describe("seed")["authorizationMode"] == "AUTH_MODE_IAM_AUTH")
        let token = try Self.token(cloud)

        #expect(try Self.reply(cloud, port: port, token: nil, ["PING"]) == Self.noauth)
        #expect(try Self.reply(cloud, port: port, token: nil, ["CLUSTER", "SHARDS"]) == Self.noauth)
        let shards = try cloud.shards(discoveryPort: port, extra: ["--no-auth-warning", "-a", token])
        #expect(shards.count == 3)
        // A node taken from CLUSTER SHARDS accepts the same token on its own connection.
        let node = try #require(shards.first?.first?.port)
        #expect(try Self.reply(cloud, port: node, token: nil, ["GET", "x"]) == Self.noauth)
        #expect(try Self.reply(cloud, port: node, token: token, ["PING"]) == "PONG")
        for key in ClusterLifecycleTests.keysCoveringShards(3) {
            #expect(try cloud.redisCLI(port: port, ["SET", key, "iam-\(key)"], extra: ["-c", "--no-auth-warning", "-a", token]).stdout.contains("OK"))
            #expect(try cloud.redisCLI(port: node, ["GET", key], extra: ["-c", "--no-auth-warning", "-a", token]).stdout.contains("iam-\(key)"))
        }
    }

    @Test func everyAuthFormAndTheConnectionStaysUsable() async throws {
        let cloud = try LocalCloud()
        defer { cloud.stop() }
        let port = try Self.createIAMCluster(cloud, "forms", shards: 1)
        let token = try Self.token(cloud)
        let c = try await ValkeyConnection.connect(host: "127.0.0.1", port: port)
        defer { c.close() }
        #expect(try await c.send(["GET", "k"]) == .error(Self.noauth))
        #expect(try await c.send(["AUTH", token]) == .simpleString("OK"))
        #expect(try await c.send(["AUTH", "default", token]) == .simpleString("OK"))
        let hello = try await c.send(["HELLO", "3", "AUTH", "default", token])
        if case .map(let pairs) = hello { #expect(pairs.contains { $0.0.string == "proto" && $0.1 == .integer(3) }) } else { Issue.record("HELLO reply \(hello)") }
        #expect(try await c.send(["SET", "k", "v"]) == .simpleString("OK"))
        #expect(try await c.send(["AUTH", "someone-else", token]) == .error(Self.wrongpass))
    }

    @Test func refusedTokensGetTheExactReply() throws {
        let cloud = try LocalCloud()
        defer { cloud.stop() }
        let port = try Self.createIAMCluster(cloud, "replies", shards: 1)
        let token = try Self.token(cloud)
        // Forged: same key id, signed by another key.
        let claimsPart = token.split(separator: ".")[1]
        let claims = try #require(Base64URLText.decode(String(claimsPart)))
        let kid = try #require((try JSONValue.parse(claims))["kid"]?.stringValue)
        let forger = TokenIssuer(key: try SigningKey(keyID: kid, privateKey: Curve25519.Signing.PrivateKey()))
        let forged = try forger.mint(principal: try Principal(parsing: "user:owner@keygate.local"), now: Date()).token
        let parts = token.split(separator: ".")
        let tampered = "\(parts[0]).\(parts[1])x.\(parts[2])"
        for bad in ["garbage", String(token.dropLast(5)), forged, tampered, "kg1..", String(repeating: "A", count: 5000)] {
            #expect(try Self.reply(cloud, port: port, token: bad, ["PING"]) == Self.wrongpass, "token \(bad.prefix(20))…")
        }
        #expect(try Self.reply(cloud, port: port, token: token, ["PING"]) == "PONG")
        // The refusal is in ACL LOG, without the token.
        let log = try cloud.redisCLI(port: port, ["ACL", "LOG"], extra: ["--no-auth-warning", "-a", token]).stdout
        #expect(!log.contains(forged))
    }

    @Test func serviceAccountKeyFileRolesConditionsAndRevocation() async throws {
        let cloud = try LocalCloud(upArguments: ["--port", "0", "--propagation-interval", "1"])
        defer { cloud.stop() }
        let portA = try Self.createIAMCluster(cloud, "a", shards: 1)
        let portB = try Self.createIAMCluster(cloud, "b", shards: 1)
        let sa = "app-runner@keygate-local.iam.gserviceaccount.com"
        try cloud.ok(["iam", "service-accounts", "create", "app-runner", "--display-name=App runner"])
        #expect(try cloud.ok(["iam", "service-accounts", "list"]).stdout.contains(sa))
        let keyFile = "\(cloud.home)/app-runner.json"
        try cloud.ok(["iam", "service-accounts", "keys", "create", keyFile, "--iam-account=\(sa)"])
        let attributes = try FileManager.default.attributesOfItem(atPath: keyFile)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let key = try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: keyFile)))
        #expect(key["type"] == "service_account")
        #expect(key["client_email"]?.stringValue == sa)
        #expect(key["private_key"]?.stringValue?.hasPrefix("-----BEGIN PRIVATE KEY-----") == true)
        #expect(key["token_uri"]?.stringValue?.hasSuffix("/token") == true)

        try cloud.ok(["auth", "activate-service-account", "--key-file=\(keyFile)"])
        #expect(try cloud.ok(["config", "get-value", "account"]).stdout == "\(sa)\n")
        let saToken = try Self.token(cloud)
        // The service account may not manage clusters, nor log in yet.
        let denied = try cloud.keygate(["redis", "clusters", "list", "--region=us-central1"])
        #expect(denied.status == 1 && denied.stderr.contains("PERMISSION_DENIED"))
        try cloud.ok(["config", "set", "account", "owner@keygate.local"])
        #expect(try Self.reply(cloud, port: portA, token: saToken, ["PING"]) == Self.wrongpass)

        // Granted on the project: logs in to both clusters within the propagation interval.
        try cloud.ok(["projects", "add-iam-policy-binding", "keygate-local", "--member=serviceAccount:\(sa)", "--role=roles/redis.dbConnectionUser"])
        #expect(try Self.eventually { try Self.reply(cloud, port: portA, token: saToken, ["PING"]) == "PONG" })
        #expect(try Self.reply(cloud, port: portB, token: saToken, ["PING"]) == "PONG")

        // A long-lived connection authenticated now must survive the revocation below.
        let kept = try await ValkeyConnection.connect(host: "127.0.0.1", port: portA, password: saToken)
        defer { kept.close() }

        // Only cluster a, by condition.
        try cloud.ok(["projects", "remove-iam-policy-binding", "keygate-local", "--member=serviceAccount:\(sa)", "--role=roles/redis.dbConnectionUser"])
        try cloud.ok(["projects", "add-iam-policy-binding", "keygate-local", "--member=serviceAccount:\(sa)", "--role=roles/redis.dbConnectionUser",
                      "--condition=expression=resource.name.startsWith(\"projects/keygate-local/locations/us-central1/clusters/a\"),title=only-a"])
        let fresh = try Self.token(cloud, [sa])
        #expect(try Self.eventually { try Self.reply(cloud, port: portB, token: fresh, ["PING"]) == Self.wrongpass })
        #expect(try Self.reply(cloud, port: portA, token: fresh, ["PING"]) == "PONG")
        let policy = try cloud.ok(["projects", "get-iam-policy", "keygate-local", "--format=json"]).stdout
        #expect(policy.contains("only-a") && policy.contains("\"version\" : 3"))

        // An unparsable condition is refused, never ignored.
        let bad = try cloud.keygate(["projects", "add-iam-policy-binding", "keygate-local", "--member=serviceAccount:\(sa)",
                                     "--role=roles/redis.dbConnectionUser", "--condition=expression=resource.name.startsWith(,title=broken"])
        #expect(bad.status == 1 && bad.stderr.contains("INVALID_ARGUMENT"))

        // Revoked: new logins fail; the connection made earlier keeps working.
        try cloud.ok(["projects", "remove-iam-policy-binding", "keygate-local", "--member=serviceAccount:\(sa)", "--role=roles/redis.dbConnectionUser",
                      "--condition=expression=resource.name.startsWith(\"projects/keygate-local/locations/us-central1/clusters/a\"),title=only-a"])
        let newer = try Self.token(cloud, [sa])
        #expect(try Self.eventually { try Self.reply(cloud, port: portA, token: newer, ["PING"]) == Self.wrongpass })
        #expect(try await kept.send(["PING"]) == .simpleString("PONG"))

        // Roles without connect do not let anyone in.
        for role in ["roles/redis.viewer", "roles/redis.editor"] {
            try cloud.ok(["projects", "add-iam-policy-binding", "keygate-local", "--member=serviceAccount:\(sa)", "--role=\(role)"])
        }
        usleep(1_500_000)
        #expect(try Self.reply(cloud, port: portA, token: newer, ["PING"]) == Self.wrongpass)

        // An expired token: minted for 1 s through generateAccessToken, by the owner.
        try cloud.ok(["projects", "add-iam-policy-binding", "keygate-local", "--member=serviceAccount:\(sa)", "--role=roles/redis.dbConnectionUser"])
        let short = try Self.token(cloud, ["--impersonate-service-account=\(sa)", "--lifetime=1s"])
        let long = try Self.token(cloud, ["--impersonate-service-account=\(sa)", "--lifetime=12h"])
        usleep(2_100_000)
        #expect(try Self.reply(cloud, port: portA, token: short, ["PING"]) == Self.wrongpass)
        #expect(try Self.eventually { try Self.reply(cloud, port: portA, token: long, ["PING"]) == "PONG" })
        let tooLong = try cloud.keygate(["auth", "print-access-token", "--impersonate-service-account=\(sa)", "--lifetime=13h"])
        #expect(tooLong.status == 1 && tooLong.stderr.contains("INVALID_ARGUMENT"))

        // Tokens appear in no log and no file but the CLI's credential store (mode 0600).
        let credentials = "\(cloud.home)/cli/credentials.json"
        #expect((try FileManager.default.attributesOfItem(atPath: credentials)[.posixPermissions] as? Int) == 0o600)
        for token in [saToken, fresh, newer, long] {
            #expect(Self.filesContaining(token, under: cloud.home) == [credentials] || Self.filesContaining(token, under: cloud.home).isEmpty,
                    "token found in \(Self.filesContaining(token, under: cloud.home))")
        }
    }

    @Test func checkRateZeroGivesExhausted() throws {
        let cloud = try LocalCloud(upArguments: ["--port", "0", "--iam-check-rate", "0"])
        defer { cloud.stop() }
        let port = try Self.createIAMCluster(cloud, "quota", shards: 1)
        #expect(try Self.reply(cloud, port: port, token: try Self.token(cloud), ["PING"]) == Self.exhausted)
    }

    @Test func agentDownGivesOtherWithinTheDeadline() async throws {
        let cloud = try LocalCloud()
        defer { cloud.stop() }
        let discovery = try Self.createIAMCluster(cloud, "agentless", shards: 1)
        let token = try Self.token(cloud)
        // The discovery endpoint lives in keygated too: talk to the node itself.
        let port = try #require(try cloud.shards(discoveryPort: discovery, extra: ["--no-auth-warning", "-a", token]).first?.first?.port)
        let daemon = try #require(try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: "\(cloud.home)/keygated.json")))["pid"]?.intValue)
        // A token the node has never seen, so its module must ask the (dead) agent.
        let unseen = try await cloud.freshOwnerToken()
        kill(Int32(daemon), SIGKILL)
        usleep(300_000)
        let start = Date()
        #expect(try Self.reply(cloud, port: port, token: unseen, ["PING"]) == Self.other)
        #expect(Date().timeIntervalSince(start) < 5)
        // keygated comes back, re-adopts the running nodes, and logins work again.
        try cloud.ok(["up", "--port", "0"])
        #expect(try Self.eventually { try Self.reply(cloud, port: port, token: unseen, ["PING"]) == "PONG" })
    }

    @Test func connectionAgeLimitClosesUnlessReauthenticated() async throws {
        let cloud = try LocalCloud(upArguments: ["--port", "0", "--connection-age-limit", "3"])
        defer { cloud.stop() }
        let port = try Self.createIAMCluster(cloud, "aging", shards: 1)
        let token = try Self.token(cloud)
        let idle = try await ValkeyConnection.connect(host: "127.0.0.1", port: port, password: token)
        defer { idle.close() }
        let busy = try await ValkeyConnection.connect(host: "127.0.0.1", port: port, password: token)
        defer { busy.close() }
        for _ in 0..<5 {
            try await Task.sleep(for: .seconds(1))
            #expect(try await busy.send(["AUTH", token]) == .simpleString("OK"))
        }
        #expect(try await busy.send(["PING"]) == .simpleString("PONG"))
        await #expect(throws: (any Error).self) { try await idle.send(["PING"]) }
    }

    static func eventually(_ timeout: TimeInterval = 10, _ check: () throws -> Bool) throws -> Bool {
        let start = Date()
        while Date().timeIntervalSince(start) < timeout {
            if try check() { return true }
            usleep(250_000)
        }
        return false
    }

    static func filesContaining(_ needle: String, under root: String) -> [String] {
        var found: [String] = []
        let enumerator = FileManager.default.enumerator(atPath: root)
        while let path = enumerator?.nextObject() as? String {
            let full = "\(root)/\(path)"
            if let data = FileManager.default.contents(atPath: full), data.range(of: Data(needle.utf8)) != nil { found.append(full) }
        }
        return found
    }
}

enum Base64URLText {
    static func decode(_ text: String) -> Data? {
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while s.count % 4 != 0 { s += "=" }
        return Data(base64Encoded: s)
    }
}
