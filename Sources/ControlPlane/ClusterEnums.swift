/// `Cluster.authorizationMode` as Google spells it.
public enum AuthorizationMode: String, Codable, Sendable {
    case disabled = "AUTH_MODE_DISABLED"
    case iamAuth = "AUTH_MODE_IAM_AUTH"
}

/// `Cluster.state` as Google spells it.
public enum ClusterState: String, Codable, Sendable {
    case creating = "CREATING"
    case active = "ACTIVE"
    case updating = "UPDATING"
    case deleting = "DELETING"
}

public enum TransitEncryptionMode: String, Codable, Sendable {
    case disabled = "TRANSIT_ENCRYPTION_MODE_DISABLED"
    case serverAuthentication = "TRANSIT_ENCRYPTION_MODE_SERVER_AUTHENTICATION"
}

/// `persistenceConfig.mode`; RDB/AOF details live in `PersistenceConfig`.
public enum PersistenceMode: String, Codable, Sendable {
    case disabled = "DISABLED"
    case rdb = "RDB"
    case aof = "AOF"
}

public struct PersistenceConfig: Codable, Sendable, Equatable {
    public var mode: PersistenceMode
    /// `ONE_HOUR`, `SIX_HOURS`, `TWELVE_HOURS`, `TWENTY_FOUR_HOURS` (Google's RDBConfig enum).
    public var rdbSnapshotPeriod: String?
    /// `ALWAYS`, `EVERYSEC`, `NEVER` (Google's AOFConfig enum).
    public var aofAppendFsync: String?

    public init(mode: PersistenceMode, rdbSnapshotPeriod: String? = nil, aofAppendFsync: String? = nil) {
        self.mode = mode
        self.rdbSnapshotPeriod = rdbSnapshotPeriod
        self.aofAppendFsync = aofAppendFsync
    }

    public static let disabled = PersistenceConfig(mode: .disabled)
}
