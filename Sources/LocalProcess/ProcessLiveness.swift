#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Whether a process is still running, for children (reaped here) and for processes adopted
/// from an earlier daemon (which are not our children).
public enum ProcessLiveness {
    public static func isRunning(_ pid: pid_t) -> Bool {
        guard pid > 0 else { return false }
        var status: Int32 = 0
        let reaped = waitpid(pid, &status, WNOHANG)
        if reaped == pid { return false }  // our child, and it just exited
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        // A zombie that is not ours still answers kill(0).
        if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
           let close = stat.lastIndex(of: ")") {
            let state = stat[stat.index(close, offsetBy: 2)...].prefix(1)
            return state != "Z" && state != "X"
        }
        return true
    }

    /// The command line of a running process (Linux), to check a pid still belongs to the program we started.
    public static func commandLine(_ pid: pid_t) -> [String]? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"), !data.isEmpty else { return nil }
        return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Sends SIGTERM, waits up to `grace` seconds, then SIGKILL; returns once the process is gone.
    public static func terminate(_ pid: pid_t, grace: Double = 10) async {
        guard isRunning(pid) else { return }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(grace)
        while Date() < deadline {
            if !isRunning(pid) { return }
            try? await Task.sleep(for: .milliseconds(50))
        }
        kill(pid, SIGKILL)
        for _ in 0..<100 where isRunning(pid) {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}
