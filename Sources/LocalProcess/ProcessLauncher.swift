#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Starts programs as detached processes (own session, output to a log file), so they outlive a
/// parent that exits and a parent's terminal signals do not reach them.
public enum ProcessLauncher {
    public struct LaunchError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Spawns `executable` with `arguments`, stdin from /dev/null and stdout+stderr appended to `logPath`.
    public static func spawn(executable: String, arguments: [String], logPath: String,
                             environment: [String: String]? = nil) throws(LaunchError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // A new session: the child survives its parent and ignores the parent's terminal.
        let flags = posixSpawnSetSID | Int16(POSIX_SPAWN_SETSIGMASK) | Int16(POSIX_SPAWN_SETSIGDEF)
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        sigaddset(&defaults, SIGINT)
        sigaddset(&defaults, SIGTERM)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, flags)

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let envList = (environment ?? currentEnvironment()).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { envList.forEach { free($0) } }

        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, envList)
        guard rc == 0 else {
            throw LaunchError(description: "cannot start \(executable): \(String(cString: strerror(rc)))")
        }
        return pid
    }

    /// glibc's POSIX_SPAWN_SETSID (0x80), hidden behind _GNU_SOURCE in the C headers.
    private static let posixSpawnSetSID: Int16 = 0x80

    public static func currentEnvironment() -> [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let eq = text.firstIndex(of: "=") {
                result[String(text[..<eq])] = String(text[text.index(after: eq)...])
            }
            pointer += 1
        }
        return result
    }
}
