import Foundation
import LocalProcess

/// Starts one valkey-server for a node configuration and waits until it answers.
public struct ValkeyNodeLauncher: Sendable {
    public struct LaunchError: Error, CustomStringConvertible {
        public var description: String
    }

    public var binary: ValkeyBinary
    public var host: String

    public init(binary: ValkeyBinary, host: String) {
        self.binary = binary
        self.host = host
    }

    /// Writes the node's config (mode 0600: it holds internal secrets) and spawns the server.
    public func start(_ configuration: ValkeyNodeConfiguration) throws -> Int32 {
        let dir = configuration.dataDirectory
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let confPath = "\(dir)/valkey.conf"
        try SecretFile.write(Data(configuration.render().utf8), to: confPath)
        guard PortProbe.isFree(configuration.node.port, host: host) else {
            throw LaunchError(description: "port \(configuration.node.port) on \(host) is already in use")
        }
        guard PortProbe.isFree(configuration.node.busPort, host: host) else {
            throw LaunchError(description: "cluster bus port \(configuration.node.busPort) on \(host) is already in use")
        }
        do {
            return try ProcessLauncher.spawn(executable: binary.path, arguments: [confPath], logPath: "\(dir)/valkey.log")
        } catch {
            throw LaunchError(description: error.description)
        }
    }

    /// Polls the node until it answers PING as the admin user; returns its cluster node id.
    public func waitUntilReady(port: Int, pid: Int32, credentials: NodeCredentials, dataDirectory: String,
                               timeout: Duration = .seconds(15)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        var lastError = ""
        while ContinuousClock.now < deadline {
            guard ProcessLiveness.isRunning(pid) else {
                throw LaunchError(description: "valkey-server on port \(port) exited during start: \(logTail(dataDirectory))")
            }
            do {
                let connection = try await adminConnection(port: port, credentials: credentials)
                defer { connection.close() }
                return try await connection.string(["CLUSTER", "MYID"])
            } catch {
                lastError = "\(error)"
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        throw LaunchError(description: "valkey-server on port \(port) did not answer within \(timeout): \(lastError)")
    }

    public func adminConnection(port: Int, credentials: NodeCredentials) async throws -> ValkeyConnection {
        try await ValkeyConnection.connect(host: host, port: port, user: NodeCredentials.adminUser,
                                           password: credentials.adminPassword, timeout: .seconds(2))
    }

    private func logTail(_ dir: String) -> String {
        guard let text = try? String(contentsOfFile: "\(dir)/valkey.log", encoding: .utf8) else { return "no log" }
        return text.split(separator: "\n").suffix(3).joined(separator: " | ")
    }
}
