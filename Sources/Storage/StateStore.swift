import ControlPlane
import Foundation
import GRDB

/// SQLite-backed control-plane state: clusters, operations and daemon settings.
/// Rows keep their indexed key columns plus the record as JSON, so the schema stays small while
/// every write is one transaction.
public final class StateStore: Sendable {
    private let queue: DatabaseQueue
    private static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .iso8601
        e.outputFormatting = .sortedKeys
        return e
    }()
    private static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }()

    /// Opens (creating if needed) the database file at `path`.
    public init(path: String) throws {
        var config = Configuration()
        config.busyMode = .timeout(5)
        queue = try DatabaseQueue(path: path, configuration: config)
        try Self.migrator.migrate(queue)
    }

    private static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.create(table: "cluster") { t in
                t.primaryKey("name", .text)
                t.column("project", .text).notNull().indexed()
                t.column("location", .text).notNull()
                t.column("body", .blob).notNull()
            }
            try db.create(table: "operation") { t in
                t.primaryKey("name", .text)
                t.column("project", .text).notNull().indexed()
                t.column("location", .text).notNull()
                t.column("createTime", .double).notNull()
                t.column("body", .blob).notNull()
            }
            try db.create(table: "setting") { t in
                t.primaryKey("key", .text)
                t.column("value", .text).notNull()
            }
        }
        m.registerMigration("v2-documents") { db in
            // IAM state (service accounts, keys, policies, signing keys, revocations): typed by the
            // IAM service, stored here as JSON documents keyed by kind and name.
            try db.create(table: "document") { t in
                t.column("kind", .text).notNull()
                t.column("key", .text).notNull()
                t.column("project", .text).notNull().defaults(to: "")
                t.column("body", .blob).notNull()
                t.primaryKey(["kind", "key"])
            }
            try db.create(index: "document_by_project", on: "document", columns: ["kind", "project"])
        }
        return m
    }

    // MARK: Documents

    public func document(kind: String, key: String) throws -> Data? {
        try queue.read { db in
            try Data.fetchOne(db, sql: "SELECT body FROM document WHERE kind = ? AND key = ?", arguments: [kind, key])
        }
    }

    public func documents(kind: String, project: String? = nil) throws -> [Data] {
        try queue.read { db in
            if let project {
                return try Data.fetchAll(db, sql: "SELECT body FROM document WHERE kind = ? AND project = ? ORDER BY key", arguments: [kind, project])
            }
            return try Data.fetchAll(db, sql: "SELECT body FROM document WHERE kind = ? ORDER BY key", arguments: [kind])
        }
    }

    /// Inserts or replaces; with `mustNotExist`, fails with ALREADY_EXISTS instead of replacing.
    public func putDocument(kind: String, key: String, project: String = "", body: Data, mustNotExist: Bool = false) throws {
        try queue.write { db in
            if mustNotExist, try Bool.fetchOne(db, sql: "SELECT 1 FROM document WHERE kind = ? AND key = ?", arguments: [kind, key]) == true {
                throw APIError(.alreadyExists, "\(key) already exists.")
            }
            try db.execute(sql: """
                INSERT INTO document (kind, key, project, body) VALUES (?, ?, ?, ?)
                ON CONFLICT(kind, key) DO UPDATE SET body = excluded.body, project = excluded.project
                """, arguments: [kind, key, project, body])
        }
    }

    /// Replaces a document only if it still holds `expected` (nil: absent); false when it changed meanwhile.
    public func replaceDocument(kind: String, key: String, project: String = "", expected: Data?, body: Data) throws -> Bool {
        try queue.write { db in
            let current = try Data.fetchOne(db, sql: "SELECT body FROM document WHERE kind = ? AND key = ?", arguments: [kind, key])
            guard current == expected else { return false }
            try db.execute(sql: """
                INSERT INTO document (kind, key, project, body) VALUES (?, ?, ?, ?)
                ON CONFLICT(kind, key) DO UPDATE SET body = excluded.body, project = excluded.project
                """, arguments: [kind, key, project, body])
            return true
        }
    }

    @discardableResult
    public func deleteDocument(kind: String, key: String) throws -> Bool {
        try queue.write { db in
            try db.execute(sql: "DELETE FROM document WHERE kind = ? AND key = ?", arguments: [kind, key])
            return db.changesCount > 0
        }
    }

    // MARK: Clusters

    public func cluster(_ name: ClusterName) throws -> ClusterRecord? {
        try queue.read { db in
            try Data.fetchOne(db, sql: "SELECT body FROM cluster WHERE name = ?", arguments: [name.description])
        }.map { try Self.decoder.decode(ClusterRecord.self, from: $0) }
    }

    /// Clusters of a project; `location` "-" or nil means every location, as in Google's API.
    public func clusters(project: String?, location: String?) throws -> [ClusterRecord] {
        let rows = try queue.read { db -> [Data] in
            switch (project, location) {
            case let (p?, l?) where l != "-":
                return try Data.fetchAll(db, sql: "SELECT body FROM cluster WHERE project = ? AND location = ? ORDER BY name", arguments: [p, l])
            case let (p?, _):
                return try Data.fetchAll(db, sql: "SELECT body FROM cluster WHERE project = ? ORDER BY name", arguments: [p])
            default:
                return try Data.fetchAll(db, sql: "SELECT body FROM cluster ORDER BY name")
            }
        }
        return try rows.map { try Self.decoder.decode(ClusterRecord.self, from: $0) }
    }

    /// Inserts a new cluster, failing with ALREADY_EXISTS if the name is taken.
    public func insert(_ cluster: ClusterRecord, operation: OperationRecord) throws {
        let body = try Self.encoder.encode(cluster)
        let opBody = try Self.encoder.encode(operation)
        try queue.write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM cluster WHERE name = ?", arguments: [cluster.name.description]) == true {
                throw APIError(.alreadyExists, "Cluster \(cluster.name) already exists.")
            }
            try db.execute(sql: "INSERT INTO cluster (name, project, location, body) VALUES (?, ?, ?, ?)",
                           arguments: [cluster.name.description, cluster.name.project, cluster.name.location, body])
            try Self.upsert(operation, body: opBody, in: db)
        }
    }

    public func update(_ cluster: ClusterRecord) throws {
        let body = try Self.encoder.encode(cluster)
        try queue.write { db in
            try db.execute(sql: "UPDATE cluster SET body = ? WHERE name = ?", arguments: [body, cluster.name.description])
        }
    }

    public func deleteCluster(_ name: ClusterName) throws {
        try queue.write { db in
            try db.execute(sql: "DELETE FROM cluster WHERE name = ?", arguments: [name.description])
        }
    }

    // MARK: Operations

    public func save(_ operation: OperationRecord) throws {
        let body = try Self.encoder.encode(operation)
        try queue.write { db in try Self.upsert(operation, body: body, in: db) }
    }

    private static func upsert(_ op: OperationRecord, body: Data, in db: Database) throws {
        try db.execute(sql: """
            INSERT INTO operation (name, project, location, createTime, body) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT(name) DO UPDATE SET body = excluded.body
            """, arguments: [op.name.description, op.name.project, op.name.location, op.createTime.timeIntervalSince1970, body])
    }

    public func operation(_ name: OperationName) throws -> OperationRecord? {
        try queue.read { db in
            try Data.fetchOne(db, sql: "SELECT body FROM operation WHERE name = ?", arguments: [name.description])
        }.map { try Self.decoder.decode(OperationRecord.self, from: $0) }
    }

    public func operations(project: String, location: String?) throws -> [OperationRecord] {
        let rows = try queue.read { db -> [Data] in
            if let l = location, l != "-" {
                return try Data.fetchAll(db, sql: "SELECT body FROM operation WHERE project = ? AND location = ? ORDER BY createTime DESC", arguments: [project, l])
            }
            return try Data.fetchAll(db, sql: "SELECT body FROM operation WHERE project = ? ORDER BY createTime DESC", arguments: [project])
        }
        return try rows.map { try Self.decoder.decode(OperationRecord.self, from: $0) }
    }

    // MARK: Settings

    public func setting(_ key: String) throws -> String? {
        try queue.read { db in try String.fetchOne(db, sql: "SELECT value FROM setting WHERE key = ?", arguments: [key]) }
    }

    public func setSetting(_ key: String, _ value: String) throws {
        try queue.write { db in
            try db.execute(sql: "INSERT INTO setting (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                           arguments: [key, value])
        }
    }
}
