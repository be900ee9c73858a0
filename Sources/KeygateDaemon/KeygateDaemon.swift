import API
import ClusterOperations
import Foundation
import Hummingbird
import LocalProcess
import Logging
import ServiceLifecycle
import Storage
import ValkeyRuntime

/// keygated: the IAM service, control plane and discovery endpoints in one process.
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
        if config.port != 0 && !PortProbe.isFree(config.port, host: config.host) {
            throw StartError(description: "port \(config.port) on \(config.host) is already in use; stop what holds it or start with --port N")
        }
        let store = try StateStore(path: config.databasePath)
        let project = try firstStartSetting(store, "defaultProject", config.defaultProject)
        let owner = try firstStartSetting(store, "ownerAccount", config.ownerAccount)

        let manager = ClusterManager(
            store: store, binary: binary,
            configuration: ClusterManagerConfiguration(
                home: config.home, bindHost: config.host,
                ports: PortAllocator(range: config.nodePorts, host: config.host),
                reservedPorts: [config.port]),
            logger: logger)
        let info = DaemonInfo(defaultProject: project, ownerAccount: owner, valkeyVersion: binary.version, iamAuthAvailable: false)
        let endpointFile = config.endpointFilePath
        let app = Application(
            router: KeygateAPI.router(manager: manager, info: info),
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: "keygated"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? config.port
                let record: [String: Any] = ["endpoint": "http://\(config.host):\(port)", "pid": Int(getpid())]
                if let data = try? JSONSerialization.data(withJSONObject: record) {
                    try? data.write(to: URL(fileURLWithPath: endpointFile), options: .atomic)
                }
            },
            logger: logger)
        logger.info("keygated starting", metadata: ["home": "\(config.home)", "valkey.version": "\(binary.version)", "valkey.path": "\(binary.path)"])
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: manager), .init(service: app)],
                                 gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        defer { try? FileManager.default.removeItem(atPath: endpointFile) }
        try await group.run()
    }

    private func firstStartSetting(_ store: StateStore, _ key: String, _ value: String) throws -> String {
        if let existing = try store.setting(key) { return existing }
        try store.setSetting(key, value)
        return value
    }
}
