import Foundation
import Testing
@testable import CEL

/// One expression and what it should evaluate to against `CELFixtures.activation`.
struct EvaluationCase: Sendable, CustomTestStringConvertible {
    let expression: String
    let expected: CELValue
    var testDescription: String { expression }

    init(_ expression: String, _ expected: CELValue) {
        self.expression = expression
        self.expected = expected
    }
}

enum CELFixtures {
    static let clusterName = "projects/p/locations/us-central1/clusters/a"
    static let requestTime = Date(timeIntervalSince1970: 1_748_736_000)  // 2025-06-01T00:00:00Z

    static let activation = CELActivation(
        variables: [
            "resource": [
                "name": .string(clusterName),
                "type": "redis.googleapis.com/Cluster",
                "service": "redis.googleapis.com",
            ],
            "request": ["time": .timestamp(requestTime)],
        ],
        attributes: ["iam.googleapis.com/modifiedGrantsByRole": ["roles/redis.dbConnectionUser"]]
    )
}

@Suite("CEL evaluation")
struct CELEvaluationTests {
    static let cases: [EvaluationCase] = [
        // The two conditions from the reference documentation.
        .init(#"resource.name.startsWith("projects/p/locations/us-central1/clusters/a")"#, true),
        .init("api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly(['roles/redis.dbConnectionUser'])", true),
        // Literals.
        .init("true", true),
        .init("false", false),
        .init("null", nil),
        .init("42", 42),
        .init("-7", -7),
        .init("0x1F", 31),
        .init("-9223372036854775808", .int(.min)),
        .init("'single'", "single"),
        .init(#""double""#, "double"),
        .init(#"'it\'s'"#, "it's"),
        .init(#""tab\tnew\nline""#, "tab\tnew\nline"),
        .init(#""\x41\u00e9\U0001F600\101""#, "A\u{e9}\u{1F600}A"),
        .init(#"r'\d+'"#, #"\d+"#),
        .init("'''multi\nline'''", "multi\nline"),
        .init("[1, 'two', true]", [1, "two", true]),
        .init("[]", []),
        .init("[1, 2,]", [1, 2]),
        // Member access.
        .init("resource.type", "redis.googleapis.com/Cluster"),
        .init("resource.service == 'redis.googleapis.com'", true),
        .init("resource['name'].endsWith('/clusters/a')", true),
        .init("[10, 20, 30][1]", 20),
        // String methods.
        .init("resource.name.startsWith('projects/p/locations/us-central1/clusters/b')", false),
        .init("resource.name.endsWith('/a')", true),
        .init("resource.name.contains('/locations/us-central1/')", true),
        .init("resource.name.contains('europe')", false),
        .init("resource.name.matches('^projects/[^/]+/locations/us-[a-z0-9]+/clusters/a$')", true),
        .init(#"resource.name.matches("clusters/(a|b)$")"#, true),
        .init("resource.name.matches('^clusters')", false),
        .init("'abc'.size()", 3),
        .init("size('h\u{e9}llo')", 5),
        .init("size([1, 2, 3])", 3),
        // Comparison.
        .init("1 == 1", true),
        .init("1 != 2", true),
        .init("1 < 2", true),
        .init("2 <= 2", true),
        .init("3 > 4", false),
        .init("3 >= 4", false),
        .init("'a' < 'b'", true),
        .init("false < true", true),
        .init("[1, 'x'] == [1, 'x']", true),
        .init("1 == 'one'", false),  // heterogeneous equality is false, not an error
        .init("null == null", true),
        // Lists and `in`.
        .init("'roles/owner' in ['roles/owner', 'roles/editor']", true),
        .init("3 in [1, 2]", false),
        .init("'name' in resource", true),
        .init("[1, 2].hasOnly([1, 2, 3])", true),
        .init("[1, 4].hasOnly([1, 2, 3])", false),
        .init("[].hasOnly([])", true),
        .init("api.getAttribute('iam.googleapis.com/missing', ['x'])", ["x"]),
        // Logic.
        .init("true && false", false),
        .init("true || false", true),
        .init("!true", false),
        .init("!!true", true),
        .init("true ? 'yes' : 'no'", "yes"),
        .init("(1 == 1) && ('a' != 'b') && !(2 < 1)", true),
        // Timestamps.
        .init("request.time < timestamp('2026-01-01T00:00:00Z')", true),
        .init("request.time == timestamp('2025-06-01T02:00:00+02:00')", true),
        .init("request.time >= timestamp('2025-06-01T00:00:00.5Z')", false),
        // Comments and whitespace.
        .init("// leading comment\n  resource.type ==\n'redis.googleapis.com/Cluster' // trailing", true),
    ]

    @Test(arguments: cases)
    func evaluates(_ c: EvaluationCase) throws {
        let expression = try CELExpression.parse(c.expression)
        #expect(try expression.evaluate(CELFixtures.activation) == c.expected)
    }

    @Test func limitedAdminConditionRejectsOtherRoles() throws {
        let e = try CELExpression.parse("api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly(['roles/redis.dbConnectionUser'])")
        var a = CELFixtures.activation
        a.attributes["iam.googleapis.com/modifiedGrantsByRole"] = ["roles/redis.dbConnectionUser", "roles/owner"]
        #expect(e.isSatisfied(by: a) == false)
        a.attributes = [:]  // attribute absent: the default [] has only allowed roles
        #expect(e.isSatisfied(by: a) == true)
    }

    @Test func perClusterConditionMatchesOnlyThatCluster() throws {
        let e = try CELExpression.parse(#"resource.name.startsWith("projects/p/locations/us-central1/clusters/a")"#)
        var a = CELFixtures.activation
        a.variables["resource"] = ["name": "projects/p/locations/us-central1/clusters/b", "type": "t", "service": "s"]
        #expect(!e.isSatisfied(by: a))
    }

    /// CEL's logical operators let a decisive value win over an error in the other operand.
    @Test(arguments: [
        ("false && nope", CELValue.bool(false)),
        ("nope && false", CELValue.bool(false)),
        ("true || nope", CELValue.bool(true)),
        ("nope || true", CELValue.bool(true)),
        ("1 == 2 && 1", CELValue.bool(false)),
    ])
    func logicalOperatorsAbsorbErrors(_ text: String, _ expected: CELValue) throws {
        #expect(try CELExpression.parse(text).evaluate(CELFixtures.activation) == expected)
    }

    @Test(arguments: [
        ("nope", "undeclared reference to 'nope'", 1),
        ("resource.zone", "no such key: 'zone'", 10),
        ("nope && true", "undeclared reference to 'nope'", 1),
        ("true && 1", "no such overload", 6),
        ("1 < 'a'", "no such overload: _<_(int, string)", 3),
        ("resource.name.startsWith(1)", "no such overload: startsWith(string, int)", 15),
        ("[1][5]", "index out of range: 5", 4),
        ("!1", "no such overload: !_(int)", 1),
        ("-minimum", "integer overflow", 1),
        ("-'a'", "no such overload: -_(string)", 1),
        ("1 in 'abc'", "no such overload: @in", 3),
        ("resource.name.x", "type 'string' does not support field selection", 15),
        ("1 ? 2 : 3", "no such overload: _?_:_(int)", 3),
        ("timestamp(resource.name)", "invalid timestamp", 1),
        ("api.getAttribute(1, [])", "no such overload: getAttribute(int)", 5),
    ])
    func evaluationErrors(_ text: String, _ message: String, _ column: Int) throws {
        var activation = CELFixtures.activation
        activation.variables["minimum"] = .int(.min)
        let expression = try CELExpression.parse(text)
        let error = #expect(throws: CELError.self) { try expression.evaluate(activation) }
        #expect(error?.kind == .evaluation)
        #expect(error?.message.contains(message) == true, "\(error?.message ?? "")")
        #expect(error?.column == column)
        #expect(!expression.isSatisfied(by: activation))
    }

    @Test func dynamicRegexIsCheckedAtEvaluation() throws {
        var a = CELFixtures.activation
        a.variables["p"] = "("
        let e = try CELExpression.parse("'x'.matches(p)")
        let error = #expect(throws: CELError.self) { try e.evaluate(a) }
        #expect(error?.message.contains("invalid regular expression") == true)
        a.variables["p"] = "^x$"
        #expect(try e.evaluate(a) == true)
    }

    @Test func nonBooleanResultIsNotSatisfied() throws {
        #expect(!(try CELExpression.parse("'true'").isSatisfied(by: CELActivation())))
        #expect(try CELExpression.parse("true").isSatisfied(by: CELActivation()))
    }
}
