import ControlPlane
import LocalProcess
import Foundation
import RESP
import Testing
import ValkeyRuntime

/// The foundation acceptance list, on real keygated, valkey-server and redis-cli processes.
@Suite(.serialized)
struct ClusterLifecycleTests {
    /// One key per shard, found by hashing, so SET/GET provably touch every shard.
    static func keysCoveringShards(_ shards: Int) -> [String] {
        (0..<shards).map { shard in
            let range = ClusterFormation.slotRange(shard: shard, of: shards)
            return (0...).lazy.map { "user:\(shard):\($0)" }.first { range.contains(HashSlot.slot(for: $0)) }!
        }
    }

    @Test func createThreeShardsAndUseThroughDiscovery() throws {
        let cloud = try LocalCloud()
        defer { cloud.stop() }
        let create = try cloud.ok(["redis", "clusters", "create", "alpha", "--region=us-central1", "--shard-count=3",
                                   "--node-type=redis-shared-core-nano"])
        #expect(create.stderr.contains("Created cluster [alpha]."))

        let json = try cloud.describe("alpha")
        #expect(json["name"] == "projects/keygate-local/locations/us-central1/clusters/alpha")
        #expect(json["state"] == "ACTIVE")
        #expect(json["shardCount"]?.intValue == 3)
        #expect(json["replicaCount"]?.intValue == 0)
        #expect(json["nodeType"] == "REDIS_SHARED_CORE_NANO")
        #expect(json["authorizationMode"] == "AUTH_MODE_DISABLED")
        #expect(json["uid"]?.stringValue?.isEmpty == false)
        #expect(json["createTime"]?.stringValue?.hasSuffix("Z") == true)
        #expect(json["sizeGb"]?.intValue == 4)
        let endpoint = try #require(json["discoveryEndpoints"]?.arrayValue?.first)
        #expect(endpoint["address"] == "127.0.0.1")
        let port = try #require(endpoint["port"]?.intValue)

        let shards = try cloud.shards(discoveryPort: port)
        #expect(shards.count == 3)
        #expect(shards.allSatisfy { $0.count == 1 && $0[0].role == "master" })

        for key in Self.keysCoveringShards(3) {
            #expect(try cloud.redisCLI(port: port, ["SET", key, "v-\(key)"], extra: ["-c"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "OK")
            #expect(try cloud.redisCLI(port: port, ["GET", key], extra: ["-c"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "v-\(key)")
        }
        // Every primary holds exactly one of those keys.
        for shard in shards {
            #expect(try cloud.redisCLI(port: shard[0].port, ["DBSIZE"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "1")
        }

        let list = try cloud.ok(["redis", "clusters", "list", "--region=us-central1"])
        #expect(list.stdout.contains("alpha") && list.stdout.contains("ACTIVE"))
        let yaml = try cloud.ok(["redis", "clusters", "describe", "alpha", "--region=us-central1", "--format=yaml"])
        #expect(yaml.stdout.contains("state: ACTIVE"))
        #expect(yaml.stdout.contains("discoveryEndpoints:\n- address: 127.0.0.1"))
        let ops = try cloud.ok(["redis", "operations", "list", "--region=us-central1", "--format=json"])
        #expect(ops.stdout.contains("\"verb\" : \"create\""))

        // Delete removes the nodes and the record.
        let ports = shards.flatMap { $0.map(\.port) }
        #expect(LocalCloud.valkeyPIDs(ports: ports).count == 3)
        try cloud.ok(["redis", "clusters", "delete", "alpha", "--region=us-central1", "--quiet"])
        #expect(LocalCloud.valkeyPIDs(ports: ports).isEmpty)
        let gone = try cloud.keygate(["redis", "clusters", "describe", "alpha", "--region=us-central1"])
        #expect(gone.status == 1 && gone.stderr.contains("NOT_FOUND"))
    }

    @Test func replicasAttachToEveryShard() throws {
        let cloud = try LocalCloud()
        defer { cloud.stop() }
        try cloud.ok(["redis", "clusters", "create", "beta", "--region=europe-west4", "--shard-count=3", "--replica-count=1",
                      "--node-type=redis-shared-core-nano"])
        let json = try cloud.ok(["redis", "clusters", "describe", "beta", "--region=europe-west4", "--format=json"])
        let port = try #require(OutputFormatLookup.port(json.stdout))
        let shards = try cloud.shards(discoveryPort: port)
        #expect(shards.count == 3)
        for shard in shards {
            #expect(shard.count == 2)
            #expect(shard.filter { $0.role == "master" }.count == 1)
            #expect(shard.filter { $0.role == "replica" }.count == 1)
        }
        for key in Self.keysCoveringShards(3) {
            #expect(try cloud.redisCLI(port: port, ["SET", key, "x"], extra: ["-c"]).stdout.contains("OK"))
        }
        // Replicas receive the writes.
        for shard in shards {
            let replica = try #require(shard.first { $0.role == "replica" })
            var size = ""
            for _ in 0..<50 {
                size = try cloud.redisCLI(port: replica.port, ["DBSIZE"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                if size == "1" { break }
                usleep(100_000)
            }
            #expect(size == "1")
        }
    }

    @Test func invalidInputIsRefusedAndChangesNothing() throws {
        let cloud = try LocalCloud()
        defer { cloud.stop() }
        try cloud.ok(["redis", "clusters", "create", "keep", "--region=us-central1", "--shard-count=1", "--node-type=redis-shared-core-nano"])
        let cases: [([String], String)] = [
            (["Bad_ID", "--shard-count=1"], "INVALID_ARGUMENT"),
            ([String(repeating: "a", count: 64), "--shard-count=1"], "INVALID_ARGUMENT"),
            (["trailing-", "--shard-count=1"], "INVALID_ARGUMENT"),
            (["1starts-with-digit", "--shard-count=1"], "INVALID_ARGUMENT"),
            (["okid", "--shard-count=1", "--node-type=redis-huge"], "Invalid choice: 'redis-huge'"),
            (["okid", "--shard-count=0"], "shard_count must be at least 1"),
            (["okid", "--shard-count=300"], "at most 250 nodes"),
            (["okid", "--shard-count=1", "--replica-count=6"], "replica_count must be between 0 and 5"),
            (["okid", "--shard-count=1", "--network=default"], "Invalid network"),
            (["okid", "--shard-count=1", "--auth-mode=password"], "Invalid choice: 'password'"),
            (["keep", "--shard-count=1"], "ALREADY_EXISTS"),
        ]
        for (arguments, expected) in cases {
            let result = try cloud.keygate(["redis", "clusters", "create"] + arguments + ["--region=us-central1", "--node-type=redis-shared-core-nano"].filter { a in
                !(arguments.contains { $0.hasPrefix("--node-type") } && a.hasPrefix("--node-type"))
            })
            #expect(result.status == 1, "create \(arguments) should fail")
            #expect(result.stderr.contains(expected), "create \(arguments): \(result.stderr)")
            #expect(result.stderr.hasPrefix("ERROR: (keygate.redis.clusters.create)"), "\(result.stderr)")
        }
        let bad = try cloud.keygate(["redis", "clusters", "create", "okid", "--region=Bad Region", "--shard-count=1"])
        #expect(bad.status == 1 && bad.stderr.contains("Invalid region"))
        // Nothing changed: one cluster, still serving.
        let list = try cloud.ok(["redis", "clusters", "list", "--region=-", "--format=value(name,state)"])
        #expect(list.stdout == "projects/keygate-local/locations/us-central1/clusters/keep\tACTIVE\n")
        _ = try cloud.waitForClusterOK(port: try cloud.discoveryPort("keep"))
    }

    @Test func startRefusesMissingValkeyAndTakenPort() throws {
        let home = NSTemporaryDirectory() + "keygate-test-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: home) }
        let env = ["KEYGATE_HOME": home]
        let missing = try CommandRunner.run("\(LocalCloud.binDirectory)/keygate", ["up", "--port", "0", "--valkey-server", "/nonexistent/valkey-server"], environment: env)
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("valkey-server not found at /nonexistent/valkey-server"))

        // Hold a port, then ask keygated to listen on it.
        let holder = try PortHolder()
        defer { holder.close() }
        let taken = try CommandRunner.run("\(LocalCloud.binDirectory)/keygate", ["up", "--port", String(holder.port)], environment: env)
        #expect(taken.status == 1)
        #expect(taken.stderr.contains("port \(holder.port) on 127.0.0.1 is already in use"))
        #expect(try CommandRunner.run("\(LocalCloud.binDirectory)/keygate", ["status"], environment: env).status == 3)
    }

    @Test func killedNodeIsRestartedAndClusterRecovers() throws {
        let cloud = try LocalCloud()
        defer { cloud.stop() }
        try cloud.ok(["redis", "clusters", "create", "gamma", "--region=us-central1", "--shard-count=3", "--node-type=redis-shared-core-nano"])
        let port = try cloud.discoveryPort("gamma")
        let victim = try #require(try cloud.shards(discoveryPort: port).first?.first?.port)
        let before = try #require(LocalCloud.valkeyPIDs(ports: [victim]).first)
        kill(before, SIGKILL)
        var after: Int32?
        for _ in 0..<100 {
            usleep(100_000)
            if let pid = LocalCloud.valkeyPIDs(ports: [victim]).first, pid != before { after = pid; break }
        }
        #expect(after != nil, "keygated did not restart the killed node")
        let seconds = try cloud.waitForClusterOK(port: victim)
        #expect(seconds < 60)
        for key in Self.keysCoveringShards(3) {
            #expect(try cloud.redisCLI(port: port, ["SET", key, "again"], extra: ["-c"]).stdout.contains("OK"))
        }
    }

    @Test func downStopsEverythingAndUpBringsClustersBack() throws {
        let cloud = try LocalCloud()
        defer { cloud.stop() }
        try cloud.ok(["redis", "clusters", "create", "delta", "--region=us-central1", "--shard-count=3",
                      "--node-type=redis-shared-core-nano", "--persistence-mode=aof"])
        let port = try cloud.discoveryPort("delta")
        let nodePorts = try cloud.shards(discoveryPort: port).flatMap { $0.map(\.port) }
        let keys = Self.keysCoveringShards(3)
        for key in keys { _ = try cloud.redisCLI(port: port, ["SET", key, "kept"], extra: ["-c"]) }
        let daemonPID = try #require(try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: "\(cloud.home)/keygated.json")))["pid"]?.intValue)

        try cloud.ok(["down"])
        #expect(LocalCloud.valkeyPIDs(ports: nodePorts).isEmpty)
        #expect(!ProcessLiveness.isRunning(Int32(daemonPID)))
        #expect(try cloud.redisCLI(port: port, ["PING"]).stdout.contains("PONG") == false)

        try cloud.ok(["up", "--port", "0"])
        #expect(try cloud.discoveryPort("delta") == port, "the discovery endpoint is stable")
        _ = try cloud.waitForClusterOK(port: port)
        #expect(LocalCloud.valkeyPIDs(ports: nodePorts).count == 3)
        for key in keys {
            #expect(try cloud.redisCLI(port: port, ["GET", key], extra: ["-c"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "kept")
        }
        // A second `up` is a no-op.
        #expect(try cloud.ok(["up"]).stdout.contains("already running"))
    }
}

enum OutputFormatLookup {
    static func port(_ json: String) -> Int? {
        (try? JSONValue.parse(Data(json.utf8)))?["discoveryEndpoints"]?.arrayValue?.first?["port"]?.intValue
    }
}

/// A listening socket that holds a port for the duration of a test.
final class PortHolder {
    let fd: Int32
    let port: Int

    init() throws {
        let sock = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(sock, $0, len) == 0 && listen(sock, 1) == 0 && getsockname(sock, $0, &len) == 0 }
        }
        guard bound else { throw HarnessError("cannot hold a port") }
        fd = sock
        port = Int(UInt16(bigEndian: addr.sin_port))
    }

    func close() { _ = Glibc.close(fd) }
}
