import ControlPlane
import Synchronization

/// The live primaries of each cluster, read by discovery forwarders on their event loops.
final class DiscoveryBackends: Sendable {
    private let table = Mutex<[ClusterName: [(host: String, port: Int)]]>([:])
    private let turn = Atomic<Int>(0)

    func set(_ cluster: ClusterName, _ backends: [(host: String, port: Int)]) {
        table.withLock { $0[cluster] = backends }
    }

    func remove(_ cluster: ClusterName) {
        _ = table.withLock { $0.removeValue(forKey: cluster) }
    }

    /// Every backend, starting at a rotating offset so connections spread over the nodes.
    func candidates(for cluster: ClusterName) -> [(host: String, port: Int)] {
        let all = table.withLock { $0[cluster] ?? [] }
        guard !all.isEmpty else { return [] }
        let start = turn.wrappingAdd(1, ordering: .relaxed).oldValue % all.count
        return Array(all[start...] + all[..<start])
    }
}
