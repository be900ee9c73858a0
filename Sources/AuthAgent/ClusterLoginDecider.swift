import ControlPlane
import Foundation
import IAM
import IAMService
import Logging
import Synchronization

/// Decides one login: verify the token offline (signature, expiry, revocation), then check
/// `redis.clusters.connect` on the cluster against a policy snapshot no older than the
/// propagation interval.
public final class ClusterLoginDecider: LoginDecider {
    private struct Snapshot {
        var policies: [String: CompiledPolicy]
        var verifier: TokenVerifier
        var taken: ContinuousClock.Instant
    }

    private let iam: IAMService
    private let configuration: AuthAgentConfiguration
    private let limiter: CheckRateLimiter
    private let snapshot = Mutex<Snapshot?>(nil)
    /// Tokens already verified since the last snapshot: a cluster client logs in to every node with
    /// the same token, and only the first node's login pays for the signature check.
    private let verified = Mutex<[String: AccessTokenClaims]>([:])
    static let verifiedCapacity = 10_000
    private let evaluator = PolicyEvaluator()
    private let logger: Logger

    public init(iam: IAMService, configuration: AuthAgentConfiguration, logger: Logger) {
        self.iam = iam
        self.configuration = configuration
        self.limiter = CheckRateLimiter(checksPerSecond: configuration.checksPerSecond)
        self.logger = logger
    }

    public func decide(cluster: String, token: String) -> AuthVerdict {
        decide(cluster: cluster, token: token, now: Date())
    }

    func decide(cluster: String, token: String, now: Date) -> AuthVerdict {
        if configuration.simulateBackendFailure { return .other }
        guard limiter.tryAcquire() else {
            logger.notice("IAM check rate exceeded", metadata: ["auth.verdict": "exhausted", "cluster.name": "\(cluster)"])
            return .exhausted
        }
        guard let current = currentSnapshot() else { return .other }
        guard let name = ClusterName(cluster) else { return .wrong }
        let claims: AccessTokenClaims
        if let known = verified.withLock({ $0[token] }), known.expiresAt > now {
            claims = known
        } else {
            do {
                claims = try current.verifier.verify(token, now: now)
            } catch {
                logger.info("login refused", metadata: ["auth.verdict": "wrong", "auth.reason": "\(error)", "cluster.name": "\(cluster)"])
                return .wrong
            }
            verified.withLock { cache in
                if cache.count >= Self.verifiedCapacity { cache.removeAll(keepingCapacity: true) }
                cache[token] = claims
            }
        }
        let resource = ResourceAttributes.cluster(project: name.project, location: name.location, cluster: name.cluster)
        guard let policy = current.policies[name.project],
              evaluator.isAllowed(principal: claims.principal, permission: .redisClustersConnect, resource: resource,
                                  policy: policy, requestTime: now) else {
            logger.info("login refused", metadata: ["auth.verdict": "wrong", "auth.reason": "no redis.clusters.connect", "auth.principal": "\(claims.principal)", "cluster.name": "\(cluster)"])
            return .wrong
        }
        let remaining = Int(claims.expiresAt.timeIntervalSince(now) * 1000)
        let interval = Int(configuration.propagationInterval.components.seconds * 1000
                           + configuration.propagationInterval.components.attoseconds / 1_000_000_000_000_000)
        logger.debug("login allowed", metadata: ["auth.verdict": "allow", "auth.principal": "\(claims.principal)", "cluster.name": "\(cluster)"])
        return .allow(cacheMilliseconds: max(0, min(remaining, interval)), principal: claims.principal.description)
    }

    /// The snapshot, reloaded from IAM once it is older than the propagation interval.
    private func currentSnapshot() -> Snapshot? {
        let now = ContinuousClock.now
        if let s = snapshot.withLock({ $0 }), now - s.taken < configuration.propagationInterval { return s }
        do {
            let fresh = Snapshot(policies: try iam.compiledPolicies(), verifier: iam.verifier(), taken: now)
            snapshot.withLock { $0 = fresh }
            // Key rotation and revocations apply to cached verifications from the next snapshot on.
            verified.withLock { $0.removeAll(keepingCapacity: true) }
            return fresh
        } catch {
            logger.error("IAM snapshot failed", metadata: ["error": "\(error)"])
            return nil
        }
    }
}
