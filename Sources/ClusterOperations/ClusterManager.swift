import ControlPlane
import Foundation
import LocalProcess
import Logging
import ServiceLifecycle
import Storage
import ValkeyRuntime

/// Runs the control plane's long-running operations on real Valkey processes: creates and deletes
/// clusters, restarts nodes that die, re-adopts clusters after a daemon restart, and stops every
/// node on a graceful shutdown.
public actor ClusterManager: Service {
    private let store: StateStore
    private let configuration: ClusterManagerConfiguration
    private let launcher: ValkeyNodeLauncher
    private let logger: Logger
    private let backends = DiscoveryBackends()
    private var forwarders: [ClusterName: DiscoveryForwarder] = [:]
    /// Clusters with an operation in flight: the supervisor leaves them alone.
    private var busy: Set<ClusterName> = []
    private var tasks: [String: Task<Void, Never>] = [:]
    /// Nodes whose restart failed: when to try again, and the delay after that (doubling to 10 s).
    private var restartBackoff: [String: (next: ContinuousClock.Instant, delay: Duration)] = [:]
    /// True once the clusters from the last run are back and healthy (or given up on after 30 s).
    public private(set) var isReady = false

    public init(store: StateStore, binary: ValkeyBinary, configuration: ClusterManagerConfiguration, logger: Logger) {
        self.store = store
        self.configuration = configuration
        self.launcher = ValkeyNodeLauncher(binary: binary, host: configuration.bindHost)
        self.logger = logger
    }

    // MARK: Service

    public func run() async throws {
        await adoptAll()
        await withGracefulShutdownHandler {
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                await superviseOnce()
                try? await Task.sleep(for: configuration.superviseInterval)
            }
        } onGracefulShutdown: {}
        await shutdown()
    }

    /// Stops discovery endpoints and every node; clusters stay ACTIVE in the store and come back on the next start.
    func shutdown() async {
        for task in tasks.values { task.cancel() }
        for task in tasks.values { await task.value }
        for forwarder in forwarders.values { await forwarder.stop() }
        forwarders.removeAll()
        let clusters = (try? store.clusters(project: nil, location: nil)) ?? []
        await withTaskGroup(of: Void.self) { group in
            for cluster in clusters {
                for node in cluster.nodes {
                    if let pid = node.pid { group.addTask { await ProcessLiveness.terminate(pid) } }
                }
            }
        }
        for var cluster in clusters {
            for i in cluster.nodes.indices { cluster.nodes[i].pid = nil }
            try? store.update(cluster)
        }
        logger.info("stopped every node", metadata: ["clusters": "\(clusters.count)"])
    }

    // MARK: Queries

    public func cluster(_ name: ClusterName) throws -> ClusterRecord {
        guard let cluster = try store.cluster(name) else {
            throw APIError.notFound("Resource '\(name)' was not found")
        }
        return cluster
    }

    public func clusters(project: String, location: String) throws -> [ClusterRecord] {
        try store.clusters(project: project, location: location)
    }

    public func operation(_ name: OperationName) throws -> OperationRecord {
        guard let op = try store.operation(name) else {
            throw APIError.notFound("Resource '\(name)' was not found")
        }
        return op
    }

    public func operations(project: String, location: String) throws -> [OperationRecord] {
        try store.operations(project: project, location: location)
    }

    // MARK: Create

    public func create(_ name: ClusterName, spec: ClusterSpec) throws -> OperationRecord {
        try ClusterSpecValidator.validateProject(name.project)
        try ClusterSpecValidator.validateLocation(name.location)
        try ClusterSpecValidator.validateClusterID(name.cluster)
        try ClusterSpecValidator.validate(spec)
        if spec.authorizationMode == .iamAuth && configuration.authModule == nil {
            throw APIError(.failedPrecondition, "IAM authentication is not available: keygated runs without the auth module (build it with `make module`).")
        }
        if try store.cluster(name) != nil {
            throw APIError(.alreadyExists, "Cluster \(name) already exists.")
        }
        let ports = try configuration.ports.allocate(1 + 2 * spec.nodeCount, excluding: takenPorts())
        var nodes: [NodeRecord] = []
        var index = 0
        for role in [NodeRecord.Role.primary, .replica] {
            for shard in 0..<spec.shardCount {
                for _ in 0..<(role == .primary ? 1 : spec.replicaCount) {
                    nodes.append(NodeRecord(index: index, shard: shard, role: role, port: ports[1 + 2 * index], busPort: ports[2 + 2 * index]))
                    index += 1
                }
            }
        }
        let now = Date()
        let record = ClusterRecord(name: name, uid: UUID().uuidString.lowercased(), createTime: now, state: .creating,
                                   spec: spec, discoveryAddress: configuration.bindHost, discoveryPort: ports[0], nodes: nodes)
        let operation = newOperation(for: name, verb: .create, at: now)
        try store.insert(record, operation: operation)
        busy.insert(name)
        start(operation) { manager in try await manager.provision(record, operation: operation) }
        return operation
    }

    private func provision(_ initial: ClusterRecord, operation: OperationRecord) async throws {
        var cluster = initial
        let credentials = try NodeCredentials.loadOrCreate(at: credentialsPath(cluster))
        progress(operation, "starting \(cluster.nodes.count) valkey-server processes")
        for i in cluster.nodes.indices {
            cluster.nodes[i].pid = try launcher.start(nodeConfiguration(cluster, cluster.nodes[i], credentials))
        }
        try store.update(cluster)
        try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for (i, node) in cluster.nodes.enumerated() {
                let dir = dataDirectory(cluster, node)
                group.addTask { [launcher] in
                    (i, try await launcher.waitUntilReady(port: node.port, pid: node.pid!, credentials: credentials, dataDirectory: dir))
                }
            }
            for try await (i, id) in group { cluster.nodes[i].nodeID = id }
        }
        try store.update(cluster)
        let formation = ClusterFormation(launcher: launcher, credentials: credentials)
        try await formation.form(nodes: cluster.nodes) { [weak self] line in
            Task { await self?.progress(operation, line) }
        }
        try await openDiscoveryEndpoint(cluster)
        cluster.state = .active
        try store.update(cluster)
        logger.info("cluster is active", metadata: ["cluster.name": "\(cluster.name)", "cluster.nodes": "\(cluster.nodes.count)"])
        try finish(operation, response: cluster)
    }

    // MARK: Delete

    public func delete(_ name: ClusterName) throws -> OperationRecord {
        var cluster = try cluster(name)
        guard !cluster.spec.deletionProtection else {
            throw APIError(.failedPrecondition, "Cluster \(name) has deletion protection enabled; turn it off with `keygate redis clusters update \(name.cluster) --no-deletion-protection` first.")
        }
        guard cluster.state == .active else {
            throw APIError(.failedPrecondition, "Cluster \(name) is \(cluster.state.rawValue); wait for its operation to finish.")
        }
        cluster.state = .deleting
        let operation = newOperation(for: name, verb: .delete, at: Date())
        try store.update(cluster)
        try store.save(operation)
        busy.insert(name)
        start(operation) { [cluster] manager in
            try await manager.teardown(cluster)
            try await manager.finish(operation, response: nil)
        }
        return operation
    }

    private func teardown(_ cluster: ClusterRecord) async throws {
        if let forwarder = forwarders.removeValue(forKey: cluster.name) { await forwarder.stop() }
        backends.remove(cluster.name)
        await withTaskGroup(of: Void.self) { group in
            for node in cluster.nodes {
                if let pid = node.pid { group.addTask { await ProcessLiveness.terminate(pid, grace: 5) } }
            }
        }
        try? FileManager.default.removeItem(atPath: clusterDirectory(cluster))
        try store.deleteCluster(cluster.name)
        busy.remove(cluster.name)
    }

    // MARK: Operations plumbing

    private func newOperation(for name: ClusterName, verb: OperationRecord.Verb, at time: Date) -> OperationRecord {
        let id = "operation-\(Int(time.timeIntervalSince1970 * 1000))-\(UUID().uuidString.lowercased().prefix(13))"
        return OperationRecord(name: OperationName(project: name.project, location: name.location, operation: id),
                               target: name.description, verb: verb, createTime: time)
    }

    private func start(_ operation: OperationRecord, _ body: @escaping @Sendable (ClusterManager) async throws -> Void) {
        let key = operation.name.description
        tasks[key] = Task {
            do {
                try await body(self)
            } catch {
                await self.fail(operation, error)
            }
            self.forget(key)
        }
    }

    private func forget(_ key: String) { tasks[key] = nil }

    private func progress(_ operation: OperationRecord, _ message: String) {
        guard var op = try? store.operation(operation.name), !op.done else { return }
        op.statusMessage = message
        try? store.save(op)
    }

    private func finish(_ operation: OperationRecord, response: ClusterRecord?) throws {
        var op = try store.operation(operation.name) ?? operation
        op.done = true
        op.endTime = Date()
        op.statusMessage = nil
        op.response = response
        try store.save(op)
        if let name = ClusterName(operation.target) { busy.remove(name) }
    }

    /// A failed create changes nothing: its processes stop, its files and its record go away.
    private func fail(_ operation: OperationRecord, _ error: any Error) async {
        logger.error("operation failed", metadata: ["operation": "\(operation.name)", "error": "\(error)"])
        if operation.verb == .create, let name = ClusterName(operation.target), let cluster = try? store.cluster(name) {
            try? await teardown(cluster)
        }
        var op = (try? store.operation(operation.name)) ?? operation
        op.done = true
        op.endTime = Date()
        op.error = error as? APIError ?? APIError(.internal, "\(error)")
        try? store.save(op)
        if let name = ClusterName(operation.target) { busy.remove(name) }
    }

    // MARK: Supervision

    /// Restarts nodes whose process is gone; the node rejoins from its nodes.conf.
    private func superviseOnce() async {
        guard let clusters = try? store.clusters(project: nil, location: nil) else { return }
        for var cluster in clusters where cluster.state == .active && !busy.contains(cluster.name) {
            var changed = false
            for i in cluster.nodes.indices {
                let node = cluster.nodes[i]
                if let pid = node.pid, ProcessLiveness.isRunning(pid) { continue }
                let key = "\(cluster.uid)/\(node.index)"
                if let backoff = restartBackoff[key], ContinuousClock.now < backoff.next { continue }
                logger.warning("node is down; restarting", metadata: ["cluster.name": "\(cluster.name)", "node.port": "\(node.port)"])
                do {
                    let credentials = try NodeCredentials.loadOrCreate(at: credentialsPath(cluster))
                    cluster.nodes[i].pid = try launcher.start(nodeConfiguration(cluster, node, credentials))
                    restartBackoff[key] = nil
                    changed = true
                } catch {
                    let delay = min((restartBackoff[key]?.delay ?? .milliseconds(250)) * 2, .seconds(10))
                    restartBackoff[key] = (ContinuousClock.now + delay, delay)
                    logger.error("node restart failed", metadata: ["cluster.name": "\(cluster.name)", "node.port": "\(node.port)", "error": "\(error)", "retry.in": "\(delay)"])
                }
            }
            if changed {
                try? store.update(cluster)
                refreshBackends(cluster)
            }
        }
    }

    /// On start: finish or undo operations a previous daemon left behind; re-adopt running nodes,
    /// start stopped ones, and reopen every discovery endpoint.
    private func adoptAll() async {
        guard let clusters = try? store.clusters(project: nil, location: nil) else { return }
        for var cluster in clusters {
            switch cluster.state {
            case .creating, .deleting:
                logger.warning("cleaning up an interrupted operation", metadata: ["cluster.name": "\(cluster.name)"])
                try? await teardown(cluster)
                if let ops = try? store.operations(project: cluster.name.project, location: cluster.name.location) {
                    for var op in ops where !op.done && op.target == cluster.name.description {
                        op.done = true
                        op.endTime = Date()
                        if op.verb == .create { op.error = APIError(.unavailable, "keygated stopped while the operation ran; the cluster was not created.") }
                        try? store.save(op)
                    }
                }
                continue
            case .active, .updating:
                break
            }
            do {
                let credentials = try NodeCredentials.loadOrCreate(at: credentialsPath(cluster))
                for i in cluster.nodes.indices {
                    let node = cluster.nodes[i]
                    if let pid = node.pid, ProcessLiveness.isRunning(pid),
                       // valkey-server retitles itself "valkey-server HOST:PORT [cluster]".
                       ProcessLiveness.commandLine(pid)?.joined(separator: " ").contains(":\(node.port) ") == true {
                        continue  // still running from before: adopt it
                    }
                    cluster.nodes[i].pid = try launcher.start(nodeConfiguration(cluster, node, credentials))
                }
                cluster.state = .active
                try store.update(cluster)
                try await openDiscoveryEndpoint(cluster)
                logger.info("adopted cluster", metadata: ["cluster.name": "\(cluster.name)"])
            } catch {
                logger.error("could not bring cluster back", metadata: ["cluster.name": "\(cluster.name)", "error": "\(error)"])
            }
        }
        // `keygate up` waits for this, so clients never meet a cluster still converging.
        let deadline = ContinuousClock.now + .seconds(30)
        for cluster in (try? store.clusters(project: nil, location: nil)) ?? [] where cluster.state == .active {
            guard let credentials = try? NodeCredentials.loadOrCreate(at: credentialsPath(cluster)) else { continue }
            do {
                try await ClusterFormation(launcher: launcher, credentials: credentials).waitUntilHealthy(nodes: cluster.nodes, deadline: deadline)
            } catch {
                logger.warning("cluster not healthy after restart", metadata: ["cluster.name": "\(cluster.name)", "error": "\(error)"])
            }
        }
        isReady = true
    }

    private func openDiscoveryEndpoint(_ cluster: ClusterRecord) async throws {
        refreshBackends(cluster)
        guard forwarders[cluster.name] == nil else { return }
        let name = cluster.name
        forwarders[name] = try await DiscoveryForwarder.start(
            host: cluster.discoveryAddress, port: cluster.discoveryPort,
            backends: { [backends] in backends.candidates(for: name) },
            logger: logger)
    }

    private func refreshBackends(_ cluster: ClusterRecord) {
        backends.set(cluster.name, cluster.primaries.map { (configuration.bindHost, $0.port) })
    }

    // MARK: Paths and ports

    private func clusterDirectory(_ cluster: ClusterRecord) -> String { "\(configuration.home)/clusters/\(cluster.uid)" }
    private func dataDirectory(_ cluster: ClusterRecord, _ node: NodeRecord) -> String { "\(clusterDirectory(cluster))/node-\(node.index)" }
    private func credentialsPath(_ cluster: ClusterRecord) -> String {
        try? FileManager.default.createDirectory(atPath: clusterDirectory(cluster), withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return "\(clusterDirectory(cluster))/credentials.json"
    }

    private func nodeConfiguration(_ cluster: ClusterRecord, _ node: NodeRecord, _ credentials: NodeCredentials) -> ValkeyNodeConfiguration {
        ValkeyNodeConfiguration(cluster: cluster.name, spec: cluster.spec, node: node, bindAddress: configuration.bindHost,
                                dataDirectory: dataDirectory(cluster, node), credentials: credentials,
                                authModule: configuration.authModule)
    }

    private func takenPorts() throws -> Set<Int> {
        var taken = configuration.reservedPorts
        for cluster in try store.clusters(project: nil, location: nil) {
            taken.insert(cluster.discoveryPort)
            for node in cluster.nodes { taken.formUnion([node.port, node.busPort]) }
        }
        return taken
    }
}
