import Testing
@testable import CEL

@Suite("CEL parsing")
struct CELParseTests {
    /// Expression, part of the message, line, column.
    @Test(arguments: [
        ("resource.name ==", "expected an expression but found end of input", 1, 17),
        ("(true", "expected ')' but found end of input", 1, 6),
        ("true)", "expected end of input but found ')'", 1, 5),
        ("a = b", "unexpected '='; use '==' to compare", 1, 3),
        ("a & b", "unexpected '&'; use '&&'", 1, 3),
        ("a | b", "unexpected '|'; use '||'", 1, 3),
        ("'unterminated", "unterminated string literal", 1, 1),
        ("'bad \\q escape'", "invalid escape sequence '\\q'", 1, 6),
        ("'line\nbreak'", "newline in string literal", 1, 6),
        ("true &&\n  #", "unexpected character '#'", 2, 3),
        ("1.5 > 1", "floating-point literals are not supported", 1, 1),
        ("1u == 1", "unsigned integer literals are not supported", 1, 1),
        ("b'abc'", "bytes literals are not supported", 1, 1),
        ("9223372036854775808", "integer literal is out of range", 1, 1),
        ("99999999999999999999", "integer literal is out of range", 1, 1),
        ("1 + 2 == 3", "arithmetic operator '+' is not supported", 1, 3),
        ("{'a': 1}", "map literals are not supported", 1, 1),
        ("has(resource.name)", "macro 'has' is not supported", 1, 1),
        ("[1].exists(x, x > 0)", "unsupported function 'exists'", 1, 5),
        ("resource.name.extract('{x}')", "unsupported function 'extract'", 1, 15),
        ("lower('A')", "unsupported function 'lower'", 1, 1),
        ("'a'.startsWith()", "'startsWith' takes 1 argument, got 0", 1, 5),
        ("[1].size(2)", "'size' takes 0 arguments, got 1", 1, 5),
        ("api.getAttribute('x')", "'getAttribute' takes 2 arguments, got 1", 1, 5),
        ("api.other('x', [])", "'api' only supports api.getAttribute", 1, 5),
        ("api", "'api' only supports api.getAttribute", 1, 1),
        ("resource.name.matches('(')", "invalid regular expression: missing ')'", 1, 23),
        ("resource.name.matches('a**')", "bad repetition operator", 1, 23),
        ("resource.name.matches('(?i)a')", "flags and special groups", 1, 23),
        ("timestamp('yesterday')", "invalid timestamp 'yesterday'", 1, 11),
        ("timestamp('2025-02-30T00:00:00Z')", "invalid timestamp", 1, 11),
        ("if", "reserved identifier 'if'", 1, 1),
        ("resource.", "expected a field or method name after '.'", 1, 10),
        ("[1, 2", "expected ',' or ']' but found end of input", 1, 6),
        ("true ? 1", "expected ':' but found end of input", 1, 9),
        ("", "expected an expression but found end of input", 1, 1),
        ("é == 1", "unexpected character 'é'", 1, 1),
    ])
    func rejects(_ text: String, _ message: String, _ line: Int, _ column: Int) {
        let error = #expect(throws: CELError.self) { try CELExpression.parse(text) }
        #expect(error?.message.contains(message) == true, "got: \(error?.message ?? "no error")")
        #expect(error?.line == line)
        #expect(error?.column == column)
    }

    @Test func messageNamesPosition() {
        let error = #expect(throws: CELError.self) { try CELExpression.parse("resource.name.startsWith('x') &&") }
        #expect(error?.description == "ERROR: <input>:1:33: Syntax error: expected an expression but found end of input")
    }

    /// The left side without parentheses, the right side with the parentheses CEL's
    /// precedence implies, and the value both must produce.
    @Test(arguments: [
        ("true || false && false", "true || (false && false)", CELValue.bool(true)),
        ("false && true || true", "(false && true) || true", true),
        ("!true == false", "(!true) == false", true),
        ("!false && false", "(!false) && false", false),
        ("1 < 2 == true", "(1 < 2) == true", true),
        ("'a' in ['a'] && false", "('a' in ['a']) && false", false),
        ("true ? 1 : 2 == 2", "true ? 1 : (2 == 2)", 1),
        ("false ? 1 : true ? 2 : 3", "false ? 1 : (true ? 2 : 3)", 2),
        ("-1 < 0", "(-1) < 0", true),
        ("1 == 1 != false", "(1 == 1) != false", true),
        ("[1, 2].size() == 2 || false", "(([1, 2].size()) == 2) || false", true),
        ("true || true ? 'a' : 'b'", "(true || true) ? 'a' : 'b'", "a"),
        ("!resource.name.startsWith('x')", "!(resource.name.startsWith('x'))", true),
        ("-[5][0] == -5", "(-([5][0])) == -5", true),
    ])
    func precedence(_ bare: String, _ parenthesised: String, _ expected: CELValue) throws {
        #expect(try CELExpression.parse(bare).evaluate(CELFixtures.activation) == expected)
        #expect(try CELExpression.parse(parenthesised).evaluate(CELFixtures.activation) == expected)
    }

    @Test func precedenceResults() throws {
        #expect(try CELExpression.parse("true || false && false").evaluate(CELActivation()) == true)
        #expect(try CELExpression.parse("!true == false").evaluate(CELActivation()) == true)
        #expect(try CELExpression.parse("true ? 1 : 2 == 2").evaluate(CELActivation()) == 1)
        #expect(try CELExpression.parse("false ? 1 : true ? 2 : 3").evaluate(CELActivation()) == 2)
    }

    // MARK: - Hostile input

    @Test func rejectsOverlongExpression() {
        let text = "'" + String(repeating: "a", count: CELExpression.maxLength) + "'"
        let error = #expect(throws: CELError.self) { try CELExpression.parse(text) }
        #expect(error?.kind == .limit)
    }

    @Test(arguments: [
        String(repeating: "(", count: 2000) + "1" + String(repeating: ")", count: 2000),
        String(repeating: "[", count: 2000) + String(repeating: "]", count: 2000),
        String(repeating: "!", count: 4000) + "true",
        String(repeating: "-", count: 4000) + "1",
        "resource" + String(repeating: ".a", count: 2000),
        "x" + String(repeating: "[0]", count: 1300),
        String(repeating: "1 == ", count: 800) + "1",
        String(repeating: "true ? 1 : ", count: 400) + "1",
        String(repeating: "size(", count: 700) + "1" + String(repeating: ")", count: 700),
    ])
    func rejectsDeepNesting(_ text: String) {
        let error = #expect(throws: CELError.self) { try CELExpression.parse(text) }
        #expect(error?.kind == .limit, "\(error?.description ?? "")")
    }

    @Test func longFlatChainsStayShallow() throws {
        let ors = Array(repeating: "false", count: 400).joined(separator: " || ") + " || true"
        #expect(try CELExpression.parse(ors).evaluate(CELActivation()) == true)
        let list = "[" + (0..<1000).map(String.init).joined(separator: ",") + "].size()"
        #expect(try CELExpression.parse(list).evaluate(CELActivation()) == 1000)
    }

    @Test func moderateNestingIsFine() throws {
        let text = String(repeating: "(", count: 50) + "true" + String(repeating: ")", count: 50)
        #expect(try CELExpression.parse(text).evaluate(CELActivation()) == true)
    }

    /// Random token soup must only ever produce a value or a `CELError`.
    @Test func fuzzNeverCrashes() {
        let pieces = ["resource", ".", "name", "(", ")", "[", "]", "'", "\"", "\\", "==", "!", "&&", "||",
                      "?", ":", ",", "1", "-", "in", "startsWith", "hasOnly", "api", "getAttribute", "size",
                      "matches", "'a*'", "true", " ", "\n", "0x", "é", "r'", "'''", "timestamp", "//", "{", "}"]
        var generator = SplitMix64(seed: 42)
        for _ in 0..<3000 {
            let count = Int(generator.next() % 24)
            var text = ""
            for _ in 0..<count { text += pieces[Int(generator.next() % UInt64(pieces.count))] }
            if let expression = try? CELExpression.parse(text) {
                _ = try? expression.evaluate(CELFixtures.activation)
            }
        }
    }
}

/// Deterministic generator so a fuzz failure can be reproduced.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
