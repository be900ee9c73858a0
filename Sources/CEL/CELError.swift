/// Why an expression could not be parsed or evaluated.
///
/// `description` reads like cel-go's messages (`ERROR: <input>:1:7: ...`) so users who know
/// Google's error texts recognise it; positions are 1-based and count Unicode code points.
public struct CELError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// The text is not valid CEL.
        case syntax
        /// Valid CEL, but outside the subset IAM conditions support here.
        case unsupported
        /// Too long or too deeply nested.
        case limit
        /// Evaluation failed: unknown variable, missing key, type mismatch, overflow.
        case evaluation
    }

    public var kind: Kind
    /// What went wrong, without the position.
    public var message: String
    /// 1-based line of the offending token, when known.
    public var line: Int?
    /// 1-based column of the offending token, when known.
    public var column: Int?

    public init(kind: Kind, message: String, line: Int? = nil, column: Int? = nil) {
        self.kind = kind
        self.message = message
        self.line = line
        self.column = column
    }

    public var description: String {
        let prefix: String
        switch kind {
        case .syntax: prefix = "Syntax error: "
        case .unsupported: prefix = "Unsupported: "
        case .limit: prefix = "Limit exceeded: "
        case .evaluation: prefix = ""
        }
        if let line, let column {
            return "ERROR: <input>:\(line):\(column): \(prefix)\(message)"
        }
        return "ERROR: <input>: \(prefix)\(message)"
    }
}
