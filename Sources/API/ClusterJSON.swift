import ControlPlane
import Foundation

/// Google's `Cluster` and `Operation` JSON shapes (redis.v1 discovery document), to and from our records.
enum ClusterJSON {
    static let clusterType = "type.googleapis.com/google.cloud.redis.cluster.v1.Cluster"
    static let metadataType = "type.googleapis.com/google.cloud.redis.cluster.v1.OperationMetadata"
    static let emptyType = "type.googleapis.com/google.protobuf.Empty"

    static func cluster(_ c: ClusterRecord) -> JSONValue {
        var o: [String: JSONValue] = [
            "name": .string(c.name.description),
            "uid": .string(c.uid),
            "createTime": .string(GoogleTimestamp.string(c.createTime)),
            "state": .string(c.state.rawValue),
            "shardCount": .number(Double(c.spec.shardCount)),
            "replicaCount": .number(Double(c.spec.replicaCount)),
            "nodeType": .string(c.spec.nodeType.rawValue),
            "authorizationMode": .string(c.spec.authorizationMode.rawValue),
            "transitEncryptionMode": .string(c.spec.transitEncryptionMode.rawValue),
            "sizeGb": .number(c.spec.preciseSizeGB.rounded(.down)),
            "preciseSizeGb": .number((c.spec.preciseSizeGB * 100).rounded() / 100),
            "pscConfigs": [["network": .string(c.spec.network)]],
            "persistenceConfig": persistence(c.spec.persistence),
            "deletionProtectionEnabled": .bool(c.spec.deletionProtection),
        ]
        if !c.spec.redisConfigs.isEmpty { o["redisConfigs"] = .object(c.spec.redisConfigs.mapValues { .string($0) }) }
        if !c.spec.labels.isEmpty { o["labels"] = .object(c.spec.labels.mapValues { .string($0) }) }
        if c.state != .creating {
            o["discoveryEndpoints"] = [[
                "address": .string(c.discoveryAddress),
                "port": .number(Double(c.discoveryPort)),
                "pscConfig": ["network": .string(c.spec.network)],
            ]]
        }
        return .object(o)
    }

    static func persistence(_ p: PersistenceConfig) -> JSONValue {
        var o: [String: JSONValue] = ["mode": .string(p.mode.rawValue)]
        if p.mode == .rdb { o["rdbConfig"] = ["rdbSnapshotPeriod": .string(p.rdbSnapshotPeriod ?? "ONE_HOUR")] }
        if p.mode == .aof { o["aofConfig"] = ["appendFsync": .string(p.aofAppendFsync ?? "EVERYSEC")] }
        return .object(o)
    }

    static func operation(_ op: OperationRecord) -> JSONValue {
        var metadata: [String: JSONValue] = [
            "@type": .string(metadataType),
            "createTime": .string(GoogleTimestamp.string(op.createTime)),
            "target": .string(op.target),
            "verb": .string(op.verb.rawValue),
            "apiVersion": "v1",
            "requestedCancellation": false,
        ]
        if let end = op.endTime { metadata["endTime"] = .string(GoogleTimestamp.string(end)) }
        if let message = op.statusMessage { metadata["statusMessage"] = .string(message) }
        var o: [String: JSONValue] = [
            "name": .string(op.name.description),
            "metadata": .object(metadata),
            "done": .bool(op.done),
        ]
        if op.done {
            if let error = op.error {
                o["error"] = ["code": .number(Double(error.status.rpcCode)), "message": .string(error.message)]
            } else if let cluster = op.response, case .object(var body) = self.cluster(cluster) {
                body["@type"] = .string(clusterType)
                o["response"] = .object(body)
            } else {
                o["response"] = ["@type": .string(emptyType)]
            }
        }
        return .object(o)
    }

    /// The writable fields of a create request body.
    static func spec(from body: JSONValue, project: String) throws(APIError) -> ClusterSpec {
        guard case .object(let o) = body else { throw .invalidArgument("Request body must be a JSON object (a Cluster).") }
        guard let shards = o["shardCount"]?.intValue else {
            throw .invalidArgument("Field shard_count is required.")
        }
        var spec = ClusterSpec(shardCount: shards, network: "projects/\(project)/global/networks/default")
        if let replicas = o["replicaCount"] {
            guard let r = replicas.intValue else { throw .invalidArgument("replica_count must be an integer.") }
            spec.replicaCount = r
        }
        if let type = o["nodeType"]?.stringValue {
            guard let t = NodeType(flagValue: type) else {
                throw .invalidArgument("Invalid node_type \"\(type)\"; expected one of \(NodeType.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            spec.nodeType = t
        }
        if let mode = o["authorizationMode"]?.stringValue {
            guard let m = AuthorizationMode(rawValue: mode) else {
                throw .invalidArgument("Invalid authorization_mode \"\(mode)\"; expected AUTH_MODE_DISABLED or AUTH_MODE_IAM_AUTH.")
            }
            spec.authorizationMode = m
        }
        if let mode = o["transitEncryptionMode"]?.stringValue {
            guard let m = TransitEncryptionMode(rawValue: mode) else {
                throw .invalidArgument("Invalid transit_encryption_mode \"\(mode)\".")
            }
            spec.transitEncryptionMode = m
        }
        if let psc = o["pscConfigs"]?.arrayValue {
            guard psc.count == 1, let network = psc[0]["network"]?.stringValue else {
                throw .invalidArgument("psc_configs must hold exactly one entry with a network.")
            }
            spec.network = network
        }
        if case .object(let p)? = o["persistenceConfig"] {
            let modeText = p["mode"]?.stringValue ?? "DISABLED"
            guard let mode = PersistenceMode(rawValue: modeText) else { throw .invalidArgument("Invalid persistence mode \"\(modeText)\".") }
            spec.persistence = PersistenceConfig(mode: mode,
                                                 rdbSnapshotPeriod: p["rdbConfig"]?["rdbSnapshotPeriod"]?.stringValue,
                                                 aofAppendFsync: p["aofConfig"]?["appendFsync"]?.stringValue)
        }
        if case .object(let configs)? = o["redisConfigs"] {
            var values: [String: String] = [:]
            for (key, value) in configs {
                guard let text = value.stringValue else { throw .invalidArgument("redis_configs values must be strings.") }
                values[key] = text
            }
            spec.redisConfigs = values
        }
        if case .bool(let protect)? = o["deletionProtectionEnabled"] { spec.deletionProtection = protect }
        if case .object(let labels)? = o["labels"] { spec.labels = labels.compactMapValues(\.stringValue) }
        return spec
    }
}
