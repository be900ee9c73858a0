import AuthAgent
import Foundation
import IAM
import IAMService
import Logging
import Storage
import Testing

/// The login decision on a real IAMService over a temporary SQLite file (no processes).
struct ClusterLoginDeciderTests {
    static let cluster = "projects/keygate-local/locations/us-central1/clusters/a"

    final class Fixture {
        let directory: String
        let iam: IAMService
        let owner: Principal

        init() throws {
            directory = NSTemporaryDirectory() + "agent-test-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            iam = try IAMService(store: try StateStore(path: "\(directory)/state.sqlite"), tokenURI: "http://127.0.0.1:1/token")
            owner = try Principal(parsing: "user:owner@keygate.local")
            _ = try iam.bootstrap(project: "keygate-local", owner: "owner@keygate.local")
        }

        func token(for principal: Principal) throws -> String {
            let refresh = try iam.issueRefreshToken(for: principal)
            return try iam.exchangeRefreshToken(refresh).token
        }

        func decider(rate: Double = 1000, fail: Bool = false, interval: Duration = .seconds(10)) -> ClusterLoginDecider {
            ClusterLoginDecider(iam: iam, configuration: AuthAgentConfiguration(socketPath: "\(directory)/agent.sock",
                                                                             propagationInterval: interval,
                                                                             checksPerSecond: rate, simulateBackendFailure: fail),
                                logger: Logger(label: "test"))
        }

        deinit { try? FileManager.default.removeItem(atPath: directory) }
    }

    @Test func ownerIsAllowedWithACacheNoLongerThanTheInterval() throws {
        let f = try Fixture()
        let verdict = f.decider(interval: .seconds(7)).decide(cluster: Self.cluster, token: try f.token(for: f.owner))
        guard case .allow(let ms, let principal) = verdict else { Issue.record("\(verdict)"); return }
        #expect(principal == "user:owner@keygate.local")
        #expect(ms == 7000)
    }

    @Test func refusals() throws {
        let f = try Fixture()
        let stranger = try f.token(for: try Principal(parsing: "user:stranger@example.com"))
        let decider = f.decider()
        #expect(decider.decide(cluster: Self.cluster, token: stranger) == .wrong)
        #expect(decider.decide(cluster: Self.cluster, token: "garbage") == .wrong)
        #expect(decider.decide(cluster: "not-a-cluster-name", token: try f.token(for: f.owner)) == .wrong)
        #expect(decider.decide(cluster: "projects/other-project/locations/us-central1/clusters/a", token: try f.token(for: f.owner)) == .wrong)
    }

    @Test func rateAndInjectedFailure() throws {
        let f = try Fixture()
        let token = try f.token(for: f.owner)
        #expect(f.decider(rate: 0).decide(cluster: Self.cluster, token: token) == .exhausted)
        #expect(f.decider(fail: true).decide(cluster: Self.cluster, token: token) == .other)
        let limited = f.decider(rate: 2)
        let verdicts = (0..<5).map { _ in limited.decide(cluster: Self.cluster, token: token) }
        #expect(verdicts.filter { $0 == .exhausted }.count >= 2)
    }

    @Test func conditionsScopeTheGrantToOneCluster() throws {
        let f = try Fixture()
        let sa = try Principal(parsing: "serviceAccount:app@keygate-local.iam.gserviceaccount.com")
        var policy = try f.iam.policy(project: "keygate-local")
        policy = policy.adding(member: sa, role: "roles/redis.dbConnectionUser",
                               condition: Policy.Condition(expression: #"resource.name.startsWith("\#(Self.cluster)")"#, title: "only-a"))
        _ = try f.iam.setPolicy(policy, project: "keygate-local", caller: f.owner)
        let token = try f.token(for: sa)
        let decider = f.decider()
        guard case .allow = decider.decide(cluster: Self.cluster, token: token) else { Issue.record("a refused"); return }
        #expect(decider.decide(cluster: "projects/keygate-local/locations/us-central1/clusters/b", token: token) == .wrong)
    }

    @Test(arguments: [("AUTH c t", true), ("AUTH c", false), ("AUTH  c t", false), ("LOGIN c t", false), ("AUTH c t extra", false), ("", false)])
    func requestLines(_ line: String, _ valid: Bool) {
        #expect((AuthRequest(line: Substring(line)) != nil) == valid)
    }

    @Test func verdictLinesFollowTheProtocol() {
        #expect(AuthVerdict.allow(cacheMilliseconds: 5, principal: "user:a@b.c").line == "ALLOW 5 user:a@b.c\n")
        #expect(AuthVerdict.allow(cacheMilliseconds: -3, principal: "p").line == "ALLOW 0 p\n")
        #expect(AuthVerdict.wrong.line == "WRONG\n")
        #expect(AuthVerdict.exhausted.line == "EXHAUSTED\n")
        #expect(AuthVerdict.other.line == "OTHER\n")
    }
}
