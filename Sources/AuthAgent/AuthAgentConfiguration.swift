/// How the auth agent decides logins.
public struct AuthAgentConfiguration: Sendable {
    /// Unix socket the module connects to (mode 0600).
    public var socketPath: String
    /// How stale the agent's policy snapshot may get, and so how long an ALLOW may be cached by
    /// the module: IAM changes reach logins within this time. Default 10 s (the reference: minutes).
    public var propagationInterval: Duration
    /// IAM checks per second before logins get ERR_IAM_EXHAUSTED. 0 refuses every check.
    public var checksPerSecond: Double
    /// Answer every login with ERR_IAM_OTHER, to test clients' backoff.
    public var simulateBackendFailure: Bool

    public init(socketPath: String, propagationInterval: Duration = .seconds(10), checksPerSecond: Double = 10_000,
                simulateBackendFailure: Bool = false) {
        self.socketPath = socketPath
        self.propagationInterval = propagationInterval
        self.checksPerSecond = checksPerSecond
        self.simulateBackendFailure = simulateBackendFailure
    }
}
