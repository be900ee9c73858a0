import Testing
@testable import CEL

@Suite("Safe regular expressions")
struct SafeRegexTests {
    @Test(arguments: [
        ("abc", "xxabcxx", true),
        ("^abc$", "abc", true),
        ("^abc$", "abcd", false),
        ("a.c", "a\nc", false),
        ("a.c", "abc", true),
        ("colou?r", "color", true),
        ("colou?r", "colour", true),
        ("ab+c", "ac", false),
        ("ab*c", "ac", true),
        ("^a{2,3}$", "aaa", true),
        ("^a{2,3}$", "aaaa", false),
        ("^a{2}$", "aa", true),
        ("^a{2,}$", "aaaaa", true),
        ("a{,2}", "a{,2}", true),  // not a repetition: literal braces, as in RE2
        ("^(foo|bar)+$", "foobarfoo", true),
        ("^(?:foo|bar)$", "baz", false),
        ("^(?P<x>a)b$", "ab", true),
        ("^[a-c]+$", "abcabc", true),
        ("^[^a-c]+$", "xyz", true),
        ("^[^a-c]+$", "xaz", false),
        ("^[]a]+$", "]a]", true),
        ("^[a-]+$", "a-a", true),
        (#"^\d{3}-\w+\s\S$"#, "123-ab_c d", true),
        (#"^[\d.]+$"#, "1.2.3", true),
        (#"^[\D]+$"#, "abc", true),
        (#"^[\D]+$"#, "a1", false),
        (#"\bcluster\b"#, "a cluster here", true),
        (#"\bcluster\b"#, "clusters", false),
        (#"\Bust"#, "cluster", true),
        (#"\Aab\z"#, "ab", true),
        (#"^a\.b$"#, "a.b", true),
        (#"^a\.b$"#, "axb", false),
        (#"^\x41\x{1F600}$"#, "A\u{1F600}", true),
        ("^é+$", "éé", true),
        ("a*?b", "aab", true),
        ("", "anything", true),
        ("^$", "", true),
        ("x|", "y", true),
        ("^projects/[^/]+/locations/[^/]+/clusters/prod-.*$", "projects/p/locations/r/clusters/prod-1", true),
    ])
    func matches(_ pattern: String, _ input: String, _ expected: Bool) throws {
        #expect(try SafeRegex(pattern).matches(input) == expected)
    }

    @Test(arguments: [
        "(", ")", "a)", "[a", "*a", "a**", "a{3,2}", "a{1001}", #"\1"#, #"\p{L}"#, "(?i)a", "[[:alpha:]]",
        "[z-a]", "\\", #"\xZZ"#, String(repeating: "(", count: 40) + "a" + String(repeating: ")", count: 40),
        "(a{100}){100}", String(repeating: "a", count: 2000),
    ])
    func rejects(_ pattern: String) {
        #expect(throws: SafeRegexError.self) { try SafeRegex(pattern) }
    }

    /// Patterns that make backtracking engines take exponential time finish at once here.
    @Test(arguments: ["(a+)+$", "(a*)*b", "(a|aa)*c", "^(a|a?)+$", "(x+x+)+y"])
    func pathologicalPatternsAreLinear(_ pattern: String) throws {
        let regex = try SafeRegex(pattern)
        let input = String(repeating: "a", count: 3000) + "!"
        _ = regex.matches(input)
    }
}
