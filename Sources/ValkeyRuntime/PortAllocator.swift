import LocalProcess

/// Picks TCP ports for nodes, bus ports and discovery endpoints from a range below the kernel's
/// ephemeral range (so outgoing connections never take a node's port while it restarts), skipping
/// ports already recorded for other clusters and ports something else has bound.
public struct PortAllocator: Sendable {
    public var range: Range<Int>
    public var host: String

    public struct Exhausted: Error, CustomStringConvertible {
        public var description: String
    }

    public init(range: Range<Int> = 17_000..<30_000, host: String = "127.0.0.1") {
        self.range = range
        self.host = host
    }

    public func allocate(_ count: Int, excluding taken: Set<Int>) throws(Exhausted) -> [Int] {
        var chosen: [Int] = []
        var excluded = taken
        var candidate = Int.random(in: range)
        for _ in 0..<range.count where chosen.count < count {
            if !excluded.contains(candidate), PortProbe.isFree(candidate, host: host) {
                chosen.append(candidate)
                excluded.insert(candidate)
            }
            candidate = candidate + 1 >= range.upperBound ? range.lowerBound : candidate + 1
        }
        guard chosen.count == count else {
            throw Exhausted(description: "no \(count) free ports left in \(range.lowerBound)..<\(range.upperBound) on \(host)")
        }
        return chosen
    }
}
