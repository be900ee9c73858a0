import ControlPlane
import RESP

/// Joins started nodes into one Valkey cluster: MEET, slot ranges for the primaries, replicas
/// attached, then waits until every node reports `cluster_state:ok`.
public struct ClusterFormation: Sendable {
    public struct FormationError: Error, CustomStringConvertible {
        public var description: String
    }

    public var launcher: ValkeyNodeLauncher
    public var credentials: NodeCredentials

    public init(launcher: ValkeyNodeLauncher, credentials: NodeCredentials) {
        self.launcher = launcher
        self.credentials = credentials
    }

    /// Slot range `[start, end]` of primary `shard` when `shards` primaries share 16384 slots evenly.
    public static func slotRange(shard: Int, of shards: Int) -> ClosedRange<Int> {
        let start = shard * HashSlot.count / shards
        let end = (shard + 1) * HashSlot.count / shards - 1
        return start...end
    }

    /// `nodes` must carry their node ids. Progress lines go to `progress`.
    public func form(nodes: [NodeRecord], timeout: Duration = .seconds(60),
                     progress: @Sendable (String) -> Void = { _ in }) async throws {
        guard let first = nodes.first else { return }
        let shards = nodes.filter { $0.role == .primary }.count
        let seed = try await launcher.adminConnection(port: first.port, credentials: credentials)
        defer { seed.close() }
        progress("joining \(nodes.count) nodes")
        for node in nodes.dropFirst() {
            _ = try await expectOK(seed.send(["CLUSTER", "MEET", launcher.host, String(node.port), String(node.busPort)]), "CLUSTER MEET")
        }
        progress("assigning 16384 slots to \(shards) shards")
        for node in nodes where node.role == .primary {
            let range = Self.slotRange(shard: node.shard, of: shards)
            let connection = try await launcher.adminConnection(port: node.port, credentials: credentials)
            defer { connection.close() }
            try expectOK(await connection.send(["CLUSTER", "ADDSLOTSRANGE", String(range.lowerBound), String(range.upperBound)]), "CLUSTER ADDSLOTSRANGE")
        }
        let deadline = ContinuousClock.now + timeout
        try await waitUntil(deadline, "every node to see every other node") {
            for node in nodes {
                let connection = try await launcher.adminConnection(port: node.port, credentials: credentials)
                defer { connection.close() }
                let text = try await connection.string(["CLUSTER", "NODES"])
                let lines = text.split(separator: "\n")
                if lines.count != nodes.count || lines.contains(where: { $0.contains("handshake") || $0.contains("noaddr") }) { return false }
            }
            return true
        }
        let replicas = nodes.filter { $0.role == .replica }
        if !replicas.isEmpty { progress("attaching \(replicas.count) replicas") }
        for replica in replicas {
            guard let primary = nodes.first(where: { $0.role == .primary && $0.shard == replica.shard }), let primaryID = primary.nodeID else {
                throw FormationError(description: "shard \(replica.shard) has no primary")
            }
            let connection = try await launcher.adminConnection(port: replica.port, credentials: credentials)
            defer { connection.close() }
            try expectOK(await connection.send(["CLUSTER", "REPLICATE", primaryID]), "CLUSTER REPLICATE")
        }
        progress("waiting for cluster_state:ok")
        try await waitUntilHealthy(nodes: nodes, deadline: deadline)
    }

    /// Every node says `cluster_state:ok`, knows every node, and replicas have their primary.
    public func waitUntilHealthy(nodes: [NodeRecord], deadline: ContinuousClock.Instant) async throws {
        try await waitUntil(deadline, "cluster_state:ok on every node") {
            for node in nodes {
                guard try await self.isHealthy(node, nodeCount: nodes.count) else { return false }
            }
            return true
        }
    }

    public func isHealthy(_ node: NodeRecord, nodeCount: Int) async throws -> Bool {
        let connection = try await launcher.adminConnection(port: node.port, credentials: credentials)
        defer { connection.close() }
        let info = Self.parseInfo(try await connection.string(["CLUSTER", "INFO"]))
        guard info["cluster_state"] == "ok", info["cluster_known_nodes"] == String(nodeCount),
              info["cluster_slots_assigned"] == String(HashSlot.count) else { return false }
        if node.role == .replica {
            let replication = Self.parseInfo(try await connection.string(["INFO", "replication"]))
            return replication["role"] == "slave" && replication["master_link_status"] == "up"
        }
        return true
    }

    static func parseInfo(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            result[String(line[..<colon])] = String(line[line.index(after: colon)...])
        }
        return result
    }

    private func waitUntil(_ deadline: ContinuousClock.Instant, _ what: String,
                           _ check: @Sendable () async throws -> Bool) async throws {
        var lastError = ""
        while ContinuousClock.now < deadline {
            do {
                if try await check() { return }
            } catch {
                lastError = " (\(error))"
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw FormationError(description: "timed out waiting for \(what)\(lastError)")
    }

    @discardableResult
    private func expectOK(_ reply: RESPValue, _ command: String) throws -> RESPValue {
        if case .error(let message) = reply {
            throw FormationError(description: "\(command) failed: \(message)")
        }
        return reply
    }
}
