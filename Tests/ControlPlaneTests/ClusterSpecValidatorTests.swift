import ControlPlane
import Testing

struct ClusterSpecValidatorTests {
    @Test(arguments: ["a", "demo", "my-cluster-1", "x9", String(repeating: "a", count: 63)])
    func acceptsValidIDs(_ id: String) throws {
        try ClusterSpecValidator.validateClusterID(id)
    }

    @Test(arguments: ["", "Bad_ID", "UPPER", "1abc", "-abc", "abc-", "a_b", "a.b", "a b", String(repeating: "a", count: 64), "é"])
    func rejectsInvalidIDs(_ id: String) {
        #expect(throws: APIError.self) { try ClusterSpecValidator.validateClusterID(id) }
    }

    static let network = "projects/p/global/networks/default"

    @Test(arguments: [
        (1, 0, true), (3, 0, true), (3, 1, true), (125, 1, true), (250, 0, true), (41, 5, true),
        (0, 0, false), (-1, 0, false), (300, 0, false), (126, 1, false), (3, 6, false), (3, -1, false), (42, 5, false),
    ])
    func shapes(shards: Int, replicas: Int, valid: Bool) {
        let spec = ClusterSpec(shardCount: shards, replicaCount: replicas, network: Self.network)
        let result = Result { () throws(APIError) in try ClusterSpecValidator.validate(spec) }
        if valid {
            #expect((try? result.get()) != nil)
        } else {
            #expect(throws: APIError.self) { try result.get() }
        }
    }

    @Test(arguments: ["projects/p/global/networks/n", "projects/my-proj/global/networks/default"])
    func acceptsNetworks(_ network: String) throws {
        try ClusterSpecValidator.validateNetwork(network)
    }

    @Test(arguments: ["default", "projects/p/networks/n", "projects//global/networks/n", "projects/p/global/networks/", "projects/p/regional/networks/n"])
    func rejectsNetworks(_ network: String) {
        #expect(throws: APIError.self) { try ClusterSpecValidator.validateNetwork(network) }
    }

    @Test(arguments: ["us-central1", "europe-west4", "asia-northeast1"])
    func acceptsRegions(_ region: String) throws {
        try ClusterSpecValidator.validateLocation(region)
    }

    @Test(arguments: ["", "us", "US-central1", "us-central", "us central1", "-"])
    func rejectsRegions(_ region: String) {
        #expect(throws: APIError.self) { try ClusterSpecValidator.validateLocation(region) }
    }

    @Test func unknownRedisConfigIsRejected() {
        let spec = ClusterSpec(shardCount: 1, network: Self.network, redisConfigs: ["appendonly": "yes"])
        #expect(throws: APIError.self) { try ClusterSpecValidator.validate(spec) }
    }

    @Test func errorMessagesSayWhatToFix() {
        do {
            try ClusterSpecValidator.validateClusterID("Bad_ID")
            Issue.record("should throw")
        } catch {
            #expect(error.status == .invalidArgument)
            #expect(error.message.contains("lowercase letters, digits and hyphens"))
        }
    }

    @Test(arguments: NodeType.allCases)
    func nodeTypesRoundTripTheirFlagSpelling(_ type: NodeType) {
        #expect(NodeType(flagValue: type.flagValue) == type)
        #expect(type.flagValue.hasPrefix("redis-"))
        #expect(type.writableGB < type.totalGB)
    }

    @Test func resourceNamesParse() {
        let name = ClusterName("projects/p1/locations/us-central1/clusters/c")
        #expect(name == ClusterName(project: "p1", location: "us-central1", cluster: "c"))
        #expect(name?.description == "projects/p1/locations/us-central1/clusters/c")
        #expect(ClusterName("projects/p1/locations/us-central1/instances/c") == nil)
        #expect(ClusterName("projects/p1/locations/us-central1/clusters") == nil)
    }
}
