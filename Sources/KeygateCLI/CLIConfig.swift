import ControlPlane
import Foundation

/// gcloud-style properties (`project`, `account`, `redis/region`), stored as JSON.
struct CLIConfig {
    static let knownKeys: [String: String] = [
        "project": "core/project", "core/project": "core/project",
        "account": "core/account", "core/account": "core/account",
        "region": "redis/region", "redis/region": "redis/region", "compute/region": "redis/region",
    ]

    let path: String
    private(set) var values: [String: String]

    init(path: String) {
        self.path = path
        if let data = FileManager.default.contents(atPath: path),
           case .object(let o)? = try? JSONValue.parse(data) {
            values = o.compactMapValues(\.stringValue)
        } else {
            values = [:]
        }
    }

    static func canonicalKey(_ key: String) throws -> String {
        guard let canonical = knownKeys[key] else {
            throw CLIError("Section or property [\(key)] is not known. Known properties: project, account, redis/region.")
        }
        return canonical
    }

    func get(_ key: String) throws -> String? { values[try Self.canonicalKey(key)] }

    mutating func set(_ key: String, _ value: String?) throws {
        values[try Self.canonicalKey(key)] = value
        try save()
    }

    func save() throws {
        let dir = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let json = JSONValue.object(values.mapValues { .string($0) })
        try Data(json.jsonText().utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
