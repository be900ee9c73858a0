import ControlPlane

/// Where the auth module lives and how it reaches the auth agent; present only for IAM clusters.
public struct AuthModuleConfiguration: Sendable, Equatable {
    public var modulePath: String
    public var agentSocketPath: String
    /// Deadline for one agent call.
    public var timeoutMilliseconds: Int
    /// Connection age limit after the last successful AUTH; 0 turns it off. Default 12 h.
    public var maxConnectionAgeMilliseconds: Int

    public init(modulePath: String, agentSocketPath: String, timeoutMilliseconds: Int = 2000,
                maxConnectionAgeMilliseconds: Int = 12 * 3600 * 1000) {
        self.modulePath = modulePath
        self.agentSocketPath = agentSocketPath
        self.timeoutMilliseconds = timeoutMilliseconds
        self.maxConnectionAgeMilliseconds = maxConnectionAgeMilliseconds
    }
}

/// Renders the valkey.conf of one cluster node.
public struct ValkeyNodeConfiguration: Sendable {
    public var cluster: ClusterName
    public var spec: ClusterSpec
    public var node: NodeRecord
    public var bindAddress: String
    public var dataDirectory: String
    public var credentials: NodeCredentials
    public var authModule: AuthModuleConfiguration?

    public init(cluster: ClusterName, spec: ClusterSpec, node: NodeRecord, bindAddress: String,
                dataDirectory: String, credentials: NodeCredentials, authModule: AuthModuleConfiguration?) {
        self.cluster = cluster
        self.spec = spec
        self.node = node
        self.bindAddress = bindAddress
        self.dataDirectory = dataDirectory
        self.credentials = credentials
        self.authModule = authModule
    }

    public func render() -> String {
        var lines = [
            "# Written by keygated; regenerated on every start of this node.",
            "port \(node.port)",
            "bind \(bindAddress)",
            "protected-mode no",
            "daemonize no",
            "dir \(quote(dataDirectory))",
            "cluster-enabled yes",
            "cluster-config-file nodes.conf",
            // The bus has no authentication: it listens on the private (loopback) address only.
            "cluster-port \(node.busPort)",
            "cluster-node-timeout 5000",
            "maxmemory \(spec.redisConfigs["maxmemory"] ?? String(spec.nodeType.maxMemoryBytes))",
            "maxclients \(spec.redisConfigs["maxclients"] ?? String(spec.nodeType.maxClients))",
            "maxmemory-policy \(spec.redisConfigs["maxmemory-policy"] ?? "volatile-lru")",
            "user \(NodeCredentials.adminUser) on >\(credentials.adminPassword) ~* &* +@all",
            "user \(NodeCredentials.replicationUser) on >\(credentials.replicationPassword) +psync +replconf +ping",
            "masteruser \(NodeCredentials.replicationUser)",
            "masterauth \(credentials.replicationPassword)",
            // Start a replica's full sync at once instead of waiting 5 s for more replicas to join it.
            "repl-diskless-sync-delay 0",
        ]
        for key in ["maxmemory-clients", "notify-keyspace-events", "slowlog-log-slower-than"] {
            if let value = spec.redisConfigs[key] { lines.append("\(key) \(quote(value))") }
        }
        switch spec.persistence.mode {
        case .disabled:
            lines += ["save \"\"", "appendonly no"]
        case .rdb:
            let seconds = switch spec.persistence.rdbSnapshotPeriod ?? "ONE_HOUR" {
            case "SIX_HOURS": 21600
            case "TWELVE_HOURS": 43200
            case "TWENTY_FOUR_HOURS": 86400
            default: 3600
            }
            lines += ["save \"\(seconds) 1\"", "appendonly no", "dbfilename dump.rdb"]
        case .aof:
            let fsync = switch spec.persistence.aofAppendFsync ?? "EVERYSEC" {
            case "ALWAYS": "always"
            case "NEVER": "no"
            default: "everysec"
            }
            lines += ["save \"\"", "appendonly yes", "appendfsync \(fsync)"]
        }
        if spec.authorizationMode == .iamAuth, let module = authModule {
            lines += [
                // A secret nobody is told: NOAUTH until an IAM login, and never `nopass`.
                "requirepass \(credentials.defaultPassword)",
                "loadmodule \(quote(module.modulePath)) socket=\(module.agentSocketPath) cluster=\(cluster) timeout-ms=\(module.timeoutMilliseconds) max-age-ms=\(module.maxConnectionAgeMilliseconds)",
            ]
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func quote(_ value: String) -> String {
        "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
