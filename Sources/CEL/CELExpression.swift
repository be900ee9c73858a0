/// A parsed CEL condition, ready to evaluate many times.
///
/// Parsing rejects anything outside the supported subset, so a policy with a condition we
/// cannot evaluate is refused when it is set instead of silently never matching.
public struct CELExpression: Sendable, CustomStringConvertible {
    /// Longest accepted source, in UTF-8 bytes.
    public static let maxLength = 4096
    /// Deepest accepted nesting (parentheses, calls, lists, operators, member chains).
    public static let maxDepth = 64

    /// The text the expression was parsed from.
    public let source: String
    private let root: CELNode
    private let scalars: [Unicode.Scalar]

    private init(source: String, root: CELNode, scalars: [Unicode.Scalar]) {
        self.source = source
        self.root = root
        self.scalars = scalars
    }

    /// Parses `text`, or throws a `CELError` naming the line and column of the problem.
    public static func parse(_ text: String) throws(CELError) -> CELExpression {
        guard text.utf8.count <= maxLength else {
            throw CELError(kind: .limit, message: "expression is longer than \(maxLength) bytes")
        }
        let scalars = Array(text.unicodeScalars)
        var parser = try CELParser(scalars: scalars)
        let root = try parser.parseAll()
        return CELExpression(source: text, root: root, scalars: scalars)
    }

    /// Evaluates against `activation`. Unknown variables, missing keys and type mismatches
    /// are errors, never a default value.
    public func evaluate(_ activation: CELActivation) throws(CELError) -> CELValue {
        try CELEvaluator(activation: activation, scalars: scalars).evaluate(root)
    }

    /// The IAM reading of a condition: true only if it evaluates to `true`; an error or a
    /// non-boolean result counts as false (fail closed).
    public func isSatisfied(by activation: CELActivation) -> Bool {
        (try? evaluate(activation)) == .bool(true)
    }

    public var description: String { source }
}
