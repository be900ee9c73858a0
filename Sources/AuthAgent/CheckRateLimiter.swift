import Synchronization

/// A token bucket over IAM checks: `rate` checks per second with a burst of `rate` (at least 1).
/// A rate of 0 refuses every check, which is how tests and clients provoke ERR_IAM_EXHAUSTED.
public final class CheckRateLimiter: Sendable {
    private struct State {
        var tokens: Double
        var last: ContinuousClock.Instant
    }

    public let rate: Double
    private let state: Mutex<State>

    public init(checksPerSecond rate: Double) {
        self.rate = rate
        state = Mutex(State(tokens: max(rate, 1), last: .now))
    }

    /// Takes one check from the bucket; false when over the rate.
    public func tryAcquire(now: ContinuousClock.Instant = .now) -> Bool {
        guard rate > 0 else { return false }
        return state.withLock { s in
            let elapsed = Double((now - s.last).components.attoseconds) / 1e18 + Double((now - s.last).components.seconds)
            s.tokens = min(max(rate, 1), s.tokens + elapsed * rate)
            s.last = now
            guard s.tokens >= 1 else { return false }
            s.tokens -= 1
            return true
        }
    }
}
