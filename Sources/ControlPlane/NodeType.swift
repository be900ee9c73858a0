/// Memorystore node types, with the sizes and client limits the reference publishes.
public enum NodeType: String, Codable, Sendable, CaseIterable {
    case sharedCoreNano = "REDIS_SHARED_CORE_NANO"
    case standardSmall = "REDIS_STANDARD_SMALL"
    case highmemMedium = "REDIS_HIGHMEM_MEDIUM"
    case highmemXlarge = "REDIS_HIGHMEM_XLARGE"

    /// The gcloud spelling, e.g. `redis-highmem-medium`.
    public var flagValue: String { rawValue.lowercased().replacingOccurrences(of: "_", with: "-") }

    public init?(flagValue: String) {
        guard let type = NodeType.allCases.first(where: { $0.flagValue == flagValue || $0.rawValue == flagValue }) else { return nil }
        self = type
    }

    /// Writable memory in GB: becomes the node's `maxmemory`.
    public var writableGB: Double {
        switch self {
        case .sharedCoreNano: 1.12
        case .standardSmall: 5.2
        case .highmemMedium: 10.4
        case .highmemXlarge: 46.4
        }
    }

    /// Total memory of one node in GB: what `sizeGb` counts.
    public var totalGB: Double {
        switch self {
        case .sharedCoreNano: 1.4
        case .standardSmall: 6.5
        case .highmemMedium: 13
        case .highmemXlarge: 58
        }
    }

    /// Default `maxclients` of one node.
    public var maxClients: Int {
        switch self {
        case .sharedCoreNano: 5_000
        case .standardSmall: 16_000
        case .highmemMedium: 32_000
        case .highmemXlarge: 64_000
        }
    }

    public var maxMemoryBytes: Int { Int(writableGB * 1_000_000_000) }
}
