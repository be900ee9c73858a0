import Foundation
import LocalProcess

/// Secrets of one cluster's internal users. Nobody is told the `default` user's password: with
/// IAM auth on, it only exists so that the server answers NOAUTH until an IAM login.
public struct NodeCredentials: Codable, Sendable, Equatable {
    public static let adminUser = "keygate-admin"
    public static let replicationUser = "keygate-replication"

    public var adminPassword: String
    public var replicationPassword: String
    public var defaultPassword: String

    public static func random() -> NodeCredentials {
        NodeCredentials(adminPassword: randomSecret(), replicationPassword: randomSecret(), defaultPassword: randomSecret())
    }

    static func randomSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    /// Reads the credentials file, or creates it (mode 0600) on first use.
    public static func loadOrCreate(at path: String) throws -> NodeCredentials {
        if let data = FileManager.default.contents(atPath: path) {
            return try JSONDecoder().decode(NodeCredentials.self, from: data)
        }
        let credentials = NodeCredentials.random()
        try SecretFile.write(try JSONEncoder().encode(credentials), to: path)
        return credentials
    }
}

