import ControlPlane
import Foundation
#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// One keygated in a private temporary `$KEYGATE_HOME`, driven through the real `keygate` CLI and
/// `redis-cli`. `stop()` brings down the daemon and checks that no node process is left.
final class LocalCloud {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// Directory of the built `keygate`/`keygated` (next to the test bundle when built together).
    static let binDirectory: String = {
        if let dir = ProcessInfo.processInfo.environment["KEYGATE_BIN_DIR"] { return dir }
        let bundleDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [bundleDir, bundleDir.deletingLastPathComponent(), URL(fileURLWithPath: "\(repoRoot)/.build/debug")] {
            if FileManager.default.isExecutableFile(atPath: candidate.appendingPathComponent("keygate").path) { return candidate.path }
        }
        return "\(repoRoot)/.build/debug"
    }()

    static let redisCLI: String = {
        for path in ["/usr/bin/redis-cli", "/usr/local/bin/redis-cli"] where FileManager.default.isExecutableFile(atPath: path) { return path }
        return "redis-cli"
    }()

    let home: String
    var environment: [String: String]

    /// Orphans of this test process (a daemon started by `keygate up`, nodes of a killed daemon)
    /// are re-parented here instead of to an init that may never reap them; `stop()` reaps them.
    private static let becomeSubreaper: Void = {
        // prctl is variadic in C, so Swift does not import it: call it through its symbol.
        typealias Prctl = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32
        let prSetChildSubreaper: Int32 = 36
        if let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "prctl") {
            _ = unsafeBitCast(symbol, to: Prctl.self)(prSetChildSubreaper, 1, 0, 0, 0)
        }
    }()

    init(upArguments: [String] = ["--port", "0"]) throws {
        Self.becomeSubreaper
        home = NSTemporaryDirectory() + "keygate-test-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        environment = ["KEYGATE_HOME": home]
        let up = try keygate(["up"] + upArguments)
        guard up.status == 0 else {
            try? FileManager.default.removeItem(atPath: home)
            throw HarnessError("keygate up failed: \(up.output)")
        }
    }

    func keygate(_ arguments: [String], timeout: TimeInterval = 300) throws -> CommandResult {
        try CommandRunner.run("\(Self.binDirectory)/keygate", arguments, environment: environment, timeout: timeout)
    }

    /// `keygate …`, failing the test with its output unless it exits 0.
    @discardableResult
    func ok(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> CommandResult {
        let result = try keygate(arguments)
        #expect(result.status == 0, "keygate \(arguments.joined(separator: " ")) failed: \(result.output)", sourceLocation: sourceLocation)
        return result
    }

    func redisCLI(port: Int, _ arguments: [String], extra: [String] = []) throws -> CommandResult {
        try CommandRunner.run(Self.redisCLI, ["-h", "127.0.0.1", "-p", String(port)] + extra + arguments, timeout: 30)
    }

    func describe(_ cluster: String, region: String = "us-central1") throws -> JSONValue {
        let result = try ok(["redis", "clusters", "describe", cluster, "--region=\(region)", "--format=json"])
        return try JSONValue.parse(Data(result.stdout.utf8))
    }

    func discoveryPort(_ cluster: String) throws -> Int {
        guard let port = try describe(cluster)["discoveryEndpoints"]?.arrayValue?.first?["port"]?.intValue else {
            throw HarnessError("cluster \(cluster) has no discovery endpoint")
        }
        return port
    }

    /// Node ports (and roles) from `CLUSTER SHARDS` through the discovery endpoint.
    func shards(discoveryPort: Int, extra: [String] = []) throws -> [[(port: Int, role: String)]] {
        // redis-cli prints nested replies one item per line: walk them for "port" and "role".
        let text = try redisCLI(port: discoveryPort, ["CLUSTER", "SHARDS"], extra: extra).stdout
        var shards: [[(port: Int, role: String)]] = []
        let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        var i = 0
        var pendingPort: Int?
        while i < lines.count {
            if lines[i] == "slots" { shards.append([]) }
            if lines[i] == "port", i + 1 < lines.count { pendingPort = Int(lines[i + 1]) }
            if lines[i] == "role", i + 1 < lines.count, let p = pendingPort {
                shards[shards.count - 1].append((p, lines[i + 1]))
                pendingPort = nil
            }
            i += 1
        }
        return shards
    }

    /// Waits until `CLUSTER INFO` on `port` says `cluster_state:ok`.
    func waitForClusterOK(port: Int, extra: [String] = [], timeout: TimeInterval = 60) throws -> TimeInterval {
        let start = Date()
        while Date().timeIntervalSince(start) < timeout {
            if let r = try? redisCLI(port: port, ["CLUSTER", "INFO"], extra: extra), r.stdout.contains("cluster_state:ok") {
                return Date().timeIntervalSince(start)
            }
            usleep(200_000)
        }
        throw HarnessError("cluster on port \(port) not ok after \(timeout) s")
    }

    /// PIDs of valkey-server processes listening on `ports`.
    static func valkeyPIDs(ports: [Int]) -> [Int32] {
        var pids: [Int32] = []
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { continue }
            let cmd = String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
            if cmd.contains("valkey-server"), ports.contains(where: { cmd.contains(":\($0) ") }) {
                if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), stat.contains(") Z") { continue }
                pids.append(pid)
            }
        }
        return pids
    }

    /// A new access token for the owner straight from the token endpoint (refresh-token grant),
    /// bypassing the CLI's token cache.
    func freshOwnerToken() async throws -> String {
        let owner = try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: "\(home)/owner-credentials.json")))
        let endpoint = try #require(try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: "\(home)/keygated.json")))["endpoint"]?.stringValue)
        var request = URLRequest(url: URL(string: "\(endpoint)/token")!)
        request.httpMethod = "POST"
        request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data("grant_type=refresh_token&refresh_token=\(owner["refresh_token"]?.stringValue ?? "")".utf8)
        let (data, _) = try await URLSession.shared.data(for: request)
        return try #require(try JSONValue.parse(data)["access_token"]?.stringValue)
    }

    func stop() {
        _ = try? keygate(["down"], timeout: 90)
        try? FileManager.default.removeItem(atPath: home)
        Self.reapExitedOrphans()
    }

    /// Reaps exited keygated/valkey-server processes re-parented to us. Only those, by pid: a
    /// `waitpid(-1)` could take the exit status another test's CommandRunner is waiting for.
    static func reapExitedOrphans() {
        let me = getpid()
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")") else { continue }
            let name = stat[stat.index(after: open)..<close]
            let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
            guard fields.count > 2, fields[0] == "Z", Int32(fields[1]) == me,
                  name == "keygated" || name.hasPrefix("valkey-server") else { continue }
            var status: Int32 = 0
            _ = waitpid(pid, &status, WNOHANG)
        }
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
