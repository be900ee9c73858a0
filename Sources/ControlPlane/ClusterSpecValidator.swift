/// Checks names and shapes the way the reference service does, with messages that say what to fix.
public enum ClusterSpecValidator {
    public static let maxNodes = 250
    public static let maxReplicas = 5

    /// 1–63 characters: lowercase letters, digits, hyphens; starts with a letter; ends with a letter or digit.
    public static func validateClusterID(_ id: String) throws(APIError) {
        let rule = "cluster ID must be 1 to 63 characters of lowercase letters, digits and hyphens, start with a letter and end with a letter or digit"
        guard (1...63).contains(id.count) else {
            throw .invalidArgument("Invalid cluster ID \"\(id)\" (\(id.count) characters): \(rule).")
        }
        let bytes = Array(id.utf8)
        let allowed = bytes.allSatisfy { isLower($0) || isDigit($0) || $0 == UInt8(ascii: "-") }
        guard allowed, isLower(bytes[0]), let last = bytes.last, isLower(last) || isDigit(last) else {
            throw .invalidArgument("Invalid cluster ID \"\(id)\": \(rule).")
        }
    }

    /// Regions look like `us-central1`, `europe-west4`.
    public static func validateLocation(_ location: String) throws(APIError) {
        let parts = location.split(separator: "-", omittingEmptySubsequences: false)
        let ok = parts.count >= 2 && location.count <= 63
            && parts.allSatisfy { !$0.isEmpty && $0.utf8.allSatisfy { isLower($0) || isDigit($0) } }
            && parts.last!.utf8.last.map(isDigit) == true
        guard ok else {
            throw .invalidArgument("Invalid region \"\(location)\": expected a region such as us-central1.")
        }
    }

    public static func validateProject(_ project: String) throws(APIError) {
        let bytes = Array(project.utf8)
        let ok = (6...30).contains(bytes.count) && isLower(bytes[0])
            && bytes.allSatisfy { isLower($0) || isDigit($0) || $0 == UInt8(ascii: "-") }
            && bytes.last != UInt8(ascii: "-")
        guard ok else {
            throw .invalidArgument("Invalid project ID \"\(project)\": 6 to 30 lowercase letters, digits or hyphens, starting with a letter.")
        }
    }

    /// `projects/P/global/networks/N`.
    public static func validateNetwork(_ network: String) throws(APIError) {
        let parts = network.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] == "projects", !parts[1].isEmpty, parts[2] == "global",
              parts[3] == "networks", !parts[4].isEmpty else {
            throw .invalidArgument("Invalid network \"\(network)\": expected projects/PROJECT/global/networks/NETWORK.")
        }
    }

    public static let allowedRedisConfigs: Set<String> = [
        "maxmemory-clients", "maxmemory", "maxmemory-policy", "notify-keyspace-events",
        "slowlog-log-slower-than", "maxclients",
    ]

    public static func validate(_ spec: ClusterSpec) throws(APIError) {
        guard spec.shardCount >= 1 else {
            throw .invalidArgument("shard_count must be at least 1 (got \(spec.shardCount)).")
        }
        guard (0...maxReplicas).contains(spec.replicaCount) else {
            throw .invalidArgument("replica_count must be between 0 and \(maxReplicas) (got \(spec.replicaCount)).")
        }
        guard spec.nodeCount <= maxNodes else {
            throw .invalidArgument("shard_count * (1 + replica_count) must be at most \(maxNodes) nodes (got \(spec.shardCount) * (1 + \(spec.replicaCount)) = \(spec.nodeCount)).")
        }
        try validateNetwork(spec.network)
        if spec.transitEncryptionMode == .serverAuthentication {
            throw .invalidArgument("transit_encryption_mode SERVER_AUTHENTICATION is not supported by this Keygate build yet; use disabled.")
        }
        for key in spec.redisConfigs.keys where !allowedRedisConfigs.contains(key) {
            throw .invalidArgument("redis_configs key \"\(key)\" is not supported; allowed: \(allowedRedisConfigs.sorted().joined(separator: ", ")).")
        }
        if let period = spec.persistence.rdbSnapshotPeriod,
           !["ONE_HOUR", "SIX_HOURS", "TWELVE_HOURS", "TWENTY_FOUR_HOURS"].contains(period) {
            throw .invalidArgument("Invalid rdb snapshot period \"\(period)\".")
        }
        if let fsync = spec.persistence.aofAppendFsync, !["ALWAYS", "EVERYSEC", "NEVER"].contains(fsync) {
            throw .invalidArgument("Invalid aof append fsync \"\(fsync)\".")
        }
    }

    private static func isLower(_ c: UInt8) -> Bool { c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z") }
    private static func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
}
