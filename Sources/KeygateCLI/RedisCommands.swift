import ArgumentParser
import ControlPlane
import Foundation

struct RedisCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redis",
        abstract: "Manage Memorystore-style clusters.",
        subcommands: [ClustersCommand.self, OperationsCommand.self])
}

/// `--region`, falling back to the `redis/region` property, as gcloud does.
struct RegionOption: ParsableArguments {
    @Option(help: "The region of the cluster (default: the redis/region property).")
    var region: String?

    func resolved(_ config: CLIConfig) throws -> String {
        if let region { return region }
        if let r = try config.get("redis/region") { return r }
        throw CLIError("argument --region: Must be specified (or set the redis/region property).")
    }
}

struct ClustersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clusters",
        abstract: "Create, describe, list and delete clusters.",
        subcommands: [Create.self, Describe.self, List.self, Delete.self])

    static let describeFields: [(String, String)] = [
        ("name", "name"), ("state", "state"), ("shardCount", "shardCount"), ("replicaCount", "replicaCount"),
        ("nodeType", "nodeType"), ("authorizationMode", "authorizationMode"),
        ("discoveryEndpoint", "discoveryEndpoints[0].address"), ("discoveryPort", "discoveryEndpoints[0].port"),
        ("network", "pscConfigs[0].network"), ("persistence", "persistenceConfig.mode"), ("sizeGb", "sizeGb"),
        ("transitEncryptionMode", "transitEncryptionMode"), ("deletionProtectionEnabled", "deletionProtectionEnabled"),
        ("uid", "uid"), ("createTime", "createTime"),
    ]

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a cluster and wait until it is ACTIVE.")

        @Argument(help: "ID of the cluster: 1–63 lowercase letters, digits or hyphens, starting with a letter.")
        var cluster: String
        @OptionGroup var region: RegionOption
        @OptionGroup var global: GlobalOptions
        @Option(help: "projects/PROJECT/global/networks/NETWORK (default: the project's default network).")
        var network: String?
        @Option(help: "redis-shared-core-nano, redis-standard-small, redis-highmem-medium (default) or redis-highmem-xlarge.")
        var nodeType: String?
        @Option(help: "Number of shards (primaries).")
        var shardCount: Int
        @Option(help: "Replicas per shard, 0–5.")
        var replicaCount: Int?
        @Option(help: "disabled (default) or iam-auth.")
        var authMode: String?
        @Option(help: "disabled (default) or server-authentication.")
        var transitEncryptionMode: String?
        @Option(help: "disabled, rdb or aof.")
        var persistenceMode: String?
        @Option(help: "1h, 6h, 12h or 24h (with --persistence-mode=rdb).")
        var rdbSnapshotPeriod: String?
        @Option(help: "always, everysec or no (with --persistence-mode=aof).")
        var aofAppendFsync: String?
        @Option(help: "KEY=VALUE,… for maxmemory-policy, maxmemory-clients, notify-keyspace-events, slowlog-log-slower-than, maxclients, maxmemory.")
        var redisConfig: String?
        @Option(help: "KEY=VALUE,… labels.")
        var labels: String?
        @Flag(inversion: .prefixedNo, help: "Refuse deletion until turned off.")
        var deletionProtection = false
        @Flag(name: .customLong("async"), help: "Return at once instead of waiting for the operation.")
        var async = false

        func run() async throws {
            let context = CLIContext(path: "keygate.redis.clusters.create")
            let project = try global.resolvedProject(context.config)
            let location = try region.resolved(context.config)
            var body: [String: JSONValue] = ["shardCount": .number(Double(shardCount))]
            if let replicaCount { body["replicaCount"] = .number(Double(replicaCount)) }
            if let nodeType {
                body["nodeType"] = .string(try FlagChoice.pick(nodeType, flag: "--node-type",
                    from: NodeType.allCases.map { ($0.flagValue, $0.rawValue) }))
            }
            if let authMode {
                body["authorizationMode"] = .string(try FlagChoice.pick(authMode, flag: "--auth-mode",
                    from: [("disabled", AuthorizationMode.disabled.rawValue), ("iam-auth", AuthorizationMode.iamAuth.rawValue)]))
            }
            if let transitEncryptionMode {
                body["transitEncryptionMode"] = .string(try FlagChoice.pick(transitEncryptionMode, flag: "--transit-encryption-mode",
                    from: [("disabled", TransitEncryptionMode.disabled.rawValue), ("server-authentication", TransitEncryptionMode.serverAuthentication.rawValue)]))
            }
            body["pscConfigs"] = [["network": .string(network ?? "projects/\(project)/global/networks/default")]]
            if let persistenceMode {
                var p: [String: JSONValue] = ["mode": .string(try FlagChoice.pick(persistenceMode, flag: "--persistence-mode",
                    from: [("disabled", "DISABLED"), ("rdb", "RDB"), ("aof", "AOF")]))]
                if let period = rdbSnapshotPeriod {
                    p["rdbConfig"] = ["rdbSnapshotPeriod": .string(try FlagChoice.pick(period, flag: "--rdb-snapshot-period",
                        from: [("1h", "ONE_HOUR"), ("6h", "SIX_HOURS"), ("12h", "TWELVE_HOURS"), ("24h", "TWENTY_FOUR_HOURS")]))]
                }
                if let fsync = aofAppendFsync {
                    p["aofConfig"] = ["appendFsync": .string(try FlagChoice.pick(fsync, flag: "--aof-append-fsync",
                        from: [("always", "ALWAYS"), ("everysec", "EVERYSEC"), ("no", "NEVER")]))]
                }
                body["persistenceConfig"] = .object(p)
            }
            if let redisConfig { body["redisConfigs"] = .object(try KeyValueList.parse(redisConfig, flag: "--redis-config").mapValues { .string($0) }) }
            if let labels { body["labels"] = .object(try KeyValueList.parse(labels, flag: "--labels").mapValues { .string($0) }) }
            if deletionProtection { body["deletionProtectionEnabled"] = true }

            let client = try await context.client()
            let path = "/v1/projects/\(project)/locations/\(location)/clusters?clusterId=\(cluster.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? cluster)"
            let operation = try await client.post(path, .object(body))
            let stderr = FileHandle.standardError
            stderr.write(Data("Create request issued for: [\(cluster)]\n".utf8))
            if async {
                stderr.write(Data("Check operation [\(operation["name"]?.stringValue ?? "")] for status.\n".utf8))
                try global.printer.printResource(operation, fields: [("name", "name"), ("done", "done")])
                return
            }
            let done = try await OperationWaiter(client: client).wait(for: operation)
            stderr.write(Data("Created cluster [\(cluster)].\n".utf8))
            if let response = done["response"] {
                let clusterJSON = try await client.get("/v1/projects/\(project)/locations/\(location)/clusters/\(cluster)")
                _ = response
                if global.format != nil { try global.printer.printResource(clusterJSON, fields: ClustersCommand.describeFields) }
                else {
                    let address = OutputFormat.plain(OutputFormat.lookup("discoveryEndpoints[0].address", in: clusterJSON))
                    let port = OutputFormat.plain(OutputFormat.lookup("discoveryEndpoints[0].port", in: clusterJSON))
                    print("Discovery endpoint: \(address):\(port)")
                }
            }
        }
    }

    struct Describe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "describe", abstract: "Show one cluster.")
        @Argument var cluster: String
        @OptionGroup var region: RegionOption
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let context = CLIContext(path: "keygate.redis.clusters.describe")
            let path = "/v1/projects/\(try global.resolvedProject(context.config))/locations/\(try region.resolved(context.config))/clusters/\(cluster)"
            let json = try await context.client().get(path)
            try global.printer.printResource(json, fields: ClustersCommand.describeFields)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List clusters of a region (or every region with --region=-).")
        @OptionGroup var region: RegionOption
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let context = CLIContext(path: "keygate.redis.clusters.list")
            let location = (try? region.resolved(context.config)) ?? "-"
            let json = try await context.client().get("/v1/projects/\(try global.resolvedProject(context.config))/locations/\(location)/clusters")
            let clusters = json["clusters"]?.arrayValue ?? []
            try global.printer.printList(clusters, columns: [
                ("NAME", { OutputFormat.plain($0["name"]).split(separator: "/").last.map(String.init) ?? "" }),
                ("REGION", { OutputFormat.plain($0["name"]).split(separator: "/").dropFirst(3).first.map(String.init) ?? "" }),
                ("STATE", { OutputFormat.plain($0["state"]) }),
                ("SHARDS", { OutputFormat.plain($0["shardCount"]) }),
                ("REPLICAS", { OutputFormat.plain($0["replicaCount"]) }),
                ("NODE_TYPE", { NodeType(rawValue: OutputFormat.plain($0["nodeType"]))?.flagValue ?? "" }),
                ("AUTH", { OutputFormat.plain($0["authorizationMode"]) == AuthorizationMode.iamAuth.rawValue ? "iam-auth" : "disabled" }),
                ("DISCOVERY", { v in
                    let a = OutputFormat.plain(OutputFormat.lookup("discoveryEndpoints[0].address", in: v))
                    return a.isEmpty ? "-" : "\(a):\(OutputFormat.plain(OutputFormat.lookup("discoveryEndpoints[0].port", in: v)))"
                }),
            ])
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a cluster, its nodes and its data.")
        @Argument var cluster: String
        @OptionGroup var region: RegionOption
        @OptionGroup var global: GlobalOptions
        @Flag(name: .customLong("async"), help: "Return at once instead of waiting for the operation.")
        var async = false
        @Flag(name: .shortAndLong, help: "Do not ask for confirmation (this CLI never prompts).")
        var quiet = false

        func run() async throws {
            let context = CLIContext(path: "keygate.redis.clusters.delete")
            let client = try await context.client()
            let operation = try await client.delete("/v1/projects/\(try global.resolvedProject(context.config))/locations/\(try region.resolved(context.config))/clusters/\(cluster)")
            FileHandle.standardError.write(Data("Delete request issued for: [\(cluster)]\n".utf8))
            if async { return }
            _ = try await OperationWaiter(client: client).wait(for: operation)
            FileHandle.standardError.write(Data("Deleted cluster [\(cluster)].\n".utf8))
        }
    }
}

struct OperationsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "operations", abstract: "List and describe long-running operations.",
        subcommands: [List.self, Describe.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List operations of a region.")
        @OptionGroup var region: RegionOption
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let context = CLIContext(path: "keygate.redis.operations.list")
            let location = (try? region.resolved(context.config)) ?? "-"
            let json = try await context.client().get("/v1/projects/\(try global.resolvedProject(context.config))/locations/\(location)/operations")
            try global.printer.printList(json["operations"]?.arrayValue ?? [], columns: [
                ("OPERATION_NAME", { OutputFormat.plain($0["name"]).split(separator: "/").last.map(String.init) ?? "" }),
                ("TYPE", { OutputFormat.plain(OutputFormat.lookup("metadata.verb", in: $0)) }),
                ("TARGET", { OutputFormat.plain(OutputFormat.lookup("metadata.target", in: $0)).split(separator: "/").last.map(String.init) ?? "" }),
                ("DONE", { OutputFormat.plain($0["done"]) }),
                ("CREATE_TIME", { OutputFormat.plain(OutputFormat.lookup("metadata.createTime", in: $0)) }),
                ("ERROR", { OutputFormat.plain(OutputFormat.lookup("error.message", in: $0)) }),
            ])
        }
    }

    struct Describe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "describe", abstract: "Show one operation.")
        @Argument(help: "Operation ID or full name.") var operation: String
        @OptionGroup var region: RegionOption
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            let context = CLIContext(path: "keygate.redis.operations.describe")
            let path = operation.hasPrefix("projects/") ? "/v1/\(operation)"
                : "/v1/projects/\(try global.resolvedProject(context.config))/locations/\(try region.resolved(context.config))/operations/\(operation)"
            let json = try await context.client().get(path)
            try global.printer.printResource(json, fields: [
                ("name", "name"), ("verb", "metadata.verb"), ("target", "metadata.target"), ("done", "done"),
                ("createTime", "metadata.createTime"), ("endTime", "metadata.endTime"),
                ("statusMessage", "metadata.statusMessage"), ("error", "error.message"),
            ])
        }
    }
}

/// Polls an operation until done, showing its progress on stderr; throws its error.
struct OperationWaiter {
    let client: APIClient

    func wait(for operation: JSONValue, timeout: TimeInterval = 900) async throws -> JSONValue {
        guard let name = operation["name"]?.stringValue else { throw CLIError("The API returned no operation name.") }
        let stderr = FileHandle.standardError
        stderr.write(Data("Waiting for operation [\(name)] to complete...".utf8))
        var current = operation
        var lastMessage = ""
        let deadline = Date().addingTimeInterval(timeout)
        while current["done"] != .bool(true) {
            guard Date() < deadline else { throw CLIError("Operation \(name) did not finish within \(Int(timeout)) s.") }
            try await Task.sleep(for: .milliseconds(250))
            current = try await client.get("/v1/\(name)")
            let message = OutputFormat.plain(OutputFormat.lookup("metadata.statusMessage", in: current))
            if !message.isEmpty && message != lastMessage {
                stderr.write(Data("\n  \(message)...".utf8))
                lastMessage = message
            }
        }
        if let error = current["error"] {
            stderr.write(Data("failed.\n".utf8))
            throw CLIError(error["message"]?.stringValue ?? "operation failed")
        }
        stderr.write(Data("done.\n".utf8))
        return current
    }
}

/// A flag whose value must be one of a fixed list, mapped to the API's spelling, with gcloud's error.
enum FlagChoice {
    static func pick(_ value: String, flag: String, from choices: [(flag: String, api: String)]) throws -> String {
        guard let match = choices.first(where: { $0.flag == value }) else {
            throw CLIError("argument \(flag): Invalid choice: '\(value)'. Valid choices are [\(choices.map(\.flag).joined(separator: ", "))].")
        }
        return match.api
    }
}

/// `KEY=VALUE,KEY=VALUE` flag values.
enum KeyValueList {
    static func parse(_ text: String, flag: String) throws -> [String: String] {
        var result: [String: String] = [:]
        for pair in text.split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else {
                throw CLIError("argument \(flag): Bad syntax for dict arg: [\(pair)]. Use KEY=VALUE,KEY2=VALUE2.")
            }
            result[parts[0]] = parts[1]
        }
        return result
    }
}
