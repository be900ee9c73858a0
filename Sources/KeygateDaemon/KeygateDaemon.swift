import API
import AuthAgent
import ClusterOperations
import Foundation
import Hummingbird
import IAMService
import LocalProcess
import Logging
import ServiceLifecycle
import Storage
import ValkeyRuntime

/// keygated: the IAM service, control plane, discovery endpoints and auth agent in one process.
public struct KeygateDaemon: Sendable {
    public struct StartError: Error, CustomStringConvertible {
        public var description: String
    }

    public var configuration: DaemonConfiguration
    public var logger: Logger

    public init(configuration: DaemonConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        let config = configuration
        try FileManager.default.createDirectory(atPath: config.home, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let binary: ValkeyBinary
        do {
            binary = try ValkeyBinary.locate(explicit: config.valkeyServer)
        } catch {
            throw StartError(description: error.description)
        }
        // The port is fixed before anything starts: it is part of the token URI in key files.
        let port: Int
        if config.port == 0 {
            guard let free = PortProbe.ephemeralPort(host: config.host) else { throw StartError(description: "no free port on \(config.host)") }
            port = free
        } else {
            guard PortProbe.isFree(config.port, host: config.host) else {
                throw StartError(description: "port \(config.port) on \(config.host) is already in use; stop what holds it or start with --port N")
            }
            port = config.port
        }
        let endpoint = "http://\(config.host):\(port)"
        let store = try StateStore(path: config.databasePath)
        let project = try firstStartSetting(store, "defaultProject", config.defaultProject)
        let owner = try firstStartSetting(store, "ownerAccount", config.ownerAccount)
        let iam = try IAMService(store: store, tokenURI: "\(endpoint)/token")
        if !FileManager.default.fileExists(atPath: config.ownerCredentialsPath) {
            let refreshToken = try iam.bootstrap(project: project, owner: owner)
            let credential: [String: String] = ["type": "authorized_user", "client_id": "keygate-cli", "refresh_token": refreshToken, "account": owner]
            try SecretFile.write(try JSONSerialization.data(withJSONObject: credential, options: [.sortedKeys]), to: config.ownerCredentialsPath)
        }

        let modulePath = Self.locateModule(explicit: config.authModulePath)
        if modulePath == nil {
            logger.warning("auth module not found (build it with `make module`); iam-auth clusters are unavailable")
        }
        let agentConfig = AuthAgentConfiguration(socketPath: config.agentSocketPath, propagationInterval: config.propagationInterval,
                                                 checksPerSecond: config.iamCheckRate, simulateBackendFailure: config.simulateIAMFailure)
        let authModule = modulePath.map {
            AuthModuleConfiguration(modulePath: $0, agentSocketPath: config.agentSocketPath,
                                    timeoutMilliseconds: Self.milliseconds(config.agentTimeout),
                                    maxConnectionAgeMilliseconds: Self.milliseconds(config.connectionAgeLimit))
        }
        let manager = ClusterManager(
            store: store, binary: binary,
            configuration: ClusterManagerConfiguration(
                home: config.home, bindHost: config.host,
                ports: PortAllocator(range: config.nodePorts, host: config.host),
                authModule: authModule, reservedPorts: [port]),
            logger: logger)
        let agent = AuthAgentServer(socketPath: config.agentSocketPath,
                                    decider: ClusterLoginDecider(iam: iam, configuration: agentConfig, logger: logger),
                                    logger: logger)
        let info = DaemonInfo(defaultProject: project, ownerAccount: owner, valkeyVersion: binary.version, iamAuthAvailable: authModule != nil)
        let endpointFile = config.endpointFilePath
        let app = Application(
            router: KeygateAPI.router(manager: manager, iam: iam, info: info),
            configuration: .init(address: .hostname(config.host, port: port), serverName: "keygated"),
            onServerRunning: { _ in
                let record: [String: Any] = ["endpoint": endpoint, "pid": Int(getpid())]
                if let data = try? JSONSerialization.data(withJSONObject: record) {
                    try? data.write(to: URL(fileURLWithPath: endpointFile), options: .atomic)
                }
            },
            logger: logger)
        logger.info("keygated starting", metadata: ["home": "\(config.home)", "valkey.version": "\(binary.version)", "valkey.path": "\(binary.path)",
                                                    "auth.module": "\(modulePath ?? "none")"])
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: agent), .init(service: manager), .init(service: app)],
                                 gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        defer { try? FileManager.default.removeItem(atPath: endpointFile) }
        try await group.run()
    }

    private func firstStartSetting(_ store: StateStore, _ key: String, _ value: String) throws -> String {
        if let existing = try store.setting(key) { return existing }
        try store.setSetting(key, value)
        return value
    }

    static func milliseconds(_ d: Duration) -> Int {
        Int(d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000)
    }

    /// `Module/keygate-iam.so` in a directory above the executable (the repo's build), or an explicit path.
    static func locateModule(explicit: String?) -> String? {
        if let explicit { return FileManager.default.fileExists(atPath: explicit) ? explicit : nil }
        if let env = ProcessInfo.processInfo.environment["KEYGATE_AUTH_MODULE"], FileManager.default.fileExists(atPath: env) { return env }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            let candidate = dir.appendingPathComponent("Module/keygate-iam.so").path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }
}
