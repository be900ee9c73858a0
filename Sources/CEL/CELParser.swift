#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Recursive-descent parser for the CEL subset, following CEL's grammar and precedence:
///
///     Expr     = Or ["?" Or ":" Expr]
///     Or       = And {"||" And}
///     And      = Relation {"&&" Relation}
///     Relation = Unary {("==" | "!=" | "<" | "<=" | ">" | ">=" | "in") Unary}
///     Unary    = {"!" | "-"} Member
///     Member   = Primary {"." IDENT ["(" Args ")"] | "[" Expr "]"}
///     Primary  = IDENT ["(" Args ")"] | "(" Expr ")" | "[" [Args] [","] "]" | literal
///
/// Arithmetic, maps literals and macros are valid CEL but rejected here with a clear message,
/// so an unsupported condition is refused when a policy is set rather than silently false.
struct CELParser {
    private let scalars: [Unicode.Scalar]
    private let tokens: [CELToken]
    private var index = 0
    private var depth = 0

    init(scalars: [Unicode.Scalar]) throws(CELError) {
        self.scalars = scalars
        self.tokens = try CELLexer.tokenize(scalars)
    }

    mutating func parseAll() throws(CELError) -> CELNode {
        let node = try parseExpression()
        if current.kind != .end {
            throw unexpected(current, expected: "end of input")
        }
        return node
    }

    // MARK: - Tokens

    private var current: CELToken { tokens[index] }

    private mutating func advance() -> CELToken {
        let token = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return token
    }

    private mutating func expect(_ kind: CELToken.Kind, _ what: String) throws(CELError) -> CELToken {
        guard current.kind == kind else { throw unexpected(current, expected: what) }
        return advance()
    }

    private func error(_ message: String, at offset: Int, kind: CELError.Kind = .syntax) -> CELError {
        CELSource.error(kind, message, at: offset, in: scalars)
    }

    private func unexpected(_ token: CELToken, expected: String) -> CELError {
        error("expected \(expected) but found \(CELParser.describe(token.kind))", at: token.offset)
    }

    static func describe(_ kind: CELToken.Kind) -> String {
        switch kind {
        case let .identifier(name): "'\(name)'"
        case let .int(v): "'\(v)'"
        case .string: "a string"
        case .trueLiteral: "'true'"
        case .falseLiteral: "'false'"
        case .nullLiteral: "'null'"
        case .lParen: "'('"
        case .rParen: "')'"
        case .lBracket: "'['"
        case .rBracket: "']'"
        case .lBrace: "'{'"
        case .rBrace: "'}'"
        case .dot: "'.'"
        case .comma: "','"
        case .question: "'?'"
        case .colon: "':'"
        case .equal: "'=='"
        case .notEqual: "'!='"
        case .less: "'<'"
        case .lessEqual: "'<='"
        case .greater: "'>'"
        case .greaterEqual: "'>='"
        case .inKeyword: "'in'"
        case .not: "'!'"
        case .and: "'&&'"
        case .or: "'||'"
        case .plus: "'+'"
        case .minus: "'-'"
        case .star: "'*'"
        case .slash: "'/'"
        case .percent: "'%'"
        case .end: "end of input"
        }
    }

    /// Builds a node and enforces the height limit, so evaluation recursion stays bounded.
    private func make(_ kind: CELNode.Kind, at offset: Int) throws(CELError) -> CELNode {
        let node = CELNode(kind, offset: offset)
        if node.height > CELExpression.maxDepth {
            throw error("expression nests more than \(CELExpression.maxDepth) levels deep", at: offset, kind: .limit)
        }
        return node
    }

    // MARK: - Grammar

    private mutating func parseExpression() throws(CELError) -> CELNode {
        depth += 1
        defer { depth -= 1 }
        if depth > CELExpression.maxDepth {
            throw error("expression nests more than \(CELExpression.maxDepth) levels deep", at: current.offset, kind: .limit)
        }
        let condition = try parseOr()
        guard current.kind == .question else { return condition }
        let question = advance()
        let then = try parseOr()
        _ = try expect(.colon, "':'")
        let otherwise = try parseExpression()
        return try make(.conditional(condition, then, otherwise), at: question.offset)
    }

    private mutating func parseOr() throws(CELError) -> CELNode {
        let first = try parseAnd()
        guard current.kind == .or else { return first }
        let offset = current.offset
        var operands = [first]
        while current.kind == .or {
            _ = advance()
            operands.append(try parseAnd())
        }
        return try make(.or(operands), at: offset)
    }

    private mutating func parseAnd() throws(CELError) -> CELNode {
        let first = try parseRelation()
        guard current.kind == .and else { return first }
        let offset = current.offset
        var operands = [first]
        while current.kind == .and {
            _ = advance()
            operands.append(try parseRelation())
        }
        return try make(.and(operands), at: offset)
    }

    private mutating func parseRelation() throws(CELError) -> CELNode {
        var left = try parseUnary()
        while true {
            let op: CELNode.Comparison
            switch current.kind {
            case .equal: op = .equal
            case .notEqual: op = .notEqual
            case .less: op = .less
            case .lessEqual: op = .lessEqual
            case .greater: op = .greater
            case .greaterEqual: op = .greaterEqual
            case .inKeyword: op = .in
            case .plus, .minus, .star, .slash, .percent:
                throw error("arithmetic operator \(CELParser.describe(current.kind)) is not supported in conditions", at: current.offset, kind: .unsupported)
            default:
                return left
            }
            let token = advance()
            let right = try parseUnary()
            left = try make(.compare(op, left, right), at: token.offset)
        }
    }

    private mutating func parseUnary() throws(CELError) -> CELNode {
        var operators: [CELToken] = []
        while current.kind == .not || current.kind == .minus {
            operators.append(advance())
            if operators.count > CELExpression.maxDepth {
                throw error("too many unary operators", at: current.offset, kind: .limit)
            }
        }
        // Fold a minus straight into an integer literal, so the most negative int64 parses.
        if let last = operators.last, last.kind == .minus, case let .int(magnitude) = current.kind {
            let literal = advance()
            guard magnitude <= UInt64(Int64.max) + 1 else {
                throw error("integer literal is out of range", at: literal.offset)
            }
            let value = magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
            var node = try parseMemberSuffixes(try make(.literal(.int(value)), at: last.offset))
            operators.removeLast()
            for op in operators.reversed() {
                node = try make(op.kind == .not ? .not(node) : .negate(node), at: op.offset)
            }
            return node
        }
        var node = try parseMember()
        for op in operators.reversed() {
            node = try make(op.kind == .not ? .not(node) : .negate(node), at: op.offset)
        }
        return node
    }

    private mutating func parseMember() throws(CELError) -> CELNode {
        try parseMemberSuffixes(try parsePrimary())
    }

    private mutating func parseMemberSuffixes(_ start: CELNode) throws(CELError) -> CELNode {
        var node = start
        while true {
            switch current.kind {
            case .dot:
                _ = advance()
                let nameToken = current
                guard case let .identifier(name) = nameToken.kind else {
                    throw unexpected(nameToken, expected: "a field or method name after '.'")
                }
                _ = advance()
                if current.kind == .lParen {
                    _ = advance()
                    let args = try parseArguments(closing: .rParen, "')'")
                    node = try makeMethodCall(target: node, name: name, args: args, at: nameToken.offset)
                } else {
                    if case let .identifier(base) = node.kind, base == "api" {
                        throw error("'api' only supports api.getAttribute(name, default)", at: nameToken.offset, kind: .unsupported)
                    }
                    node = try make(.select(node, field: name), at: nameToken.offset)
                }
            case .lBracket:
                let open = advance()
                let key = try parseExpression()
                _ = try expect(.rBracket, "']'")
                node = try make(.index(node, key), at: open.offset)
            default:
                return node
            }
        }
    }

    private mutating func parsePrimary() throws(CELError) -> CELNode {
        let token = current
        switch token.kind {
        case let .int(magnitude):
            _ = advance()
            guard magnitude <= UInt64(Int64.max) else {
                throw error("integer literal is out of range", at: token.offset)
            }
            return try make(.literal(.int(Int64(magnitude))), at: token.offset)
        case let .string(s):
            _ = advance()
            return try make(.literal(.string(s)), at: token.offset)
        case .trueLiteral:
            _ = advance()
            return try make(.literal(.bool(true)), at: token.offset)
        case .falseLiteral:
            _ = advance()
            return try make(.literal(.bool(false)), at: token.offset)
        case .nullLiteral:
            _ = advance()
            return try make(.literal(.null), at: token.offset)
        case .lParen:
            _ = advance()
            let inner = try parseExpression()
            _ = try expect(.rParen, "')'")
            return inner
        case .lBracket:
            _ = advance()
            let items = try parseArguments(closing: .rBracket, "']'", allowTrailingComma: true)
            return try make(.list(items), at: token.offset)
        case .lBrace:
            throw error("map literals are not supported in conditions", at: token.offset, kind: .unsupported)
        case .dot:
            throw error("leading '.' in identifiers is not supported", at: token.offset, kind: .unsupported)
        case let .identifier(name):
            _ = advance()
            if current.kind == .lParen {
                _ = advance()
                let args = try parseArguments(closing: .rParen, "')'")
                return try makeGlobalCall(name: name, args: args, at: token.offset)
            }
            if name == "api" && current.kind != .dot {
                throw error("'api' only supports api.getAttribute(name, default)", at: token.offset, kind: .unsupported)
            }
            return try make(.identifier(name), at: token.offset)
        default:
            throw unexpected(token, expected: "an expression")
        }
    }

    private mutating func parseArguments(closing: CELToken.Kind, _ what: String, allowTrailingComma: Bool = false) throws(CELError) -> [CELNode] {
        var args: [CELNode] = []
        if current.kind == closing {
            _ = advance()
            return args
        }
        while true {
            args.append(try parseExpression())
            if current.kind == .comma {
                _ = advance()
                if allowTrailingComma && current.kind == closing {
                    _ = advance()
                    return args
                }
                continue
            }
            _ = try expect(closing, "',' or \(what)")
            return args
        }
    }

    // MARK: - Functions

    private func arity(_ name: String, _ args: [CELNode], _ expected: Int, at offset: Int) throws(CELError) {
        if args.count != expected {
            throw error("'\(name)' takes \(expected) argument\(expected == 1 ? "" : "s"), got \(args.count)", at: offset)
        }
    }

    private func makeMethodCall(target: CELNode, name: String, args: [CELNode], at offset: Int) throws(CELError) -> CELNode {
        if case let .identifier(base) = target.kind, base == "api" {
            guard name == "getAttribute" else {
                throw error("'api' only supports api.getAttribute(name, default)", at: offset, kind: .unsupported)
            }
            try arity(name, args, 2, at: offset)
            return try make(.getAttribute(args[0], args[1]), at: offset)
        }
        guard let method = CELNode.Method(rawValue: name) else {
            throw error("unsupported function '\(name)'", at: offset, kind: .unsupported)
        }
        try arity(name, args, method == .size ? 0 : 1, at: offset)
        if method == .matches, case let .literal(.string(pattern)) = args[0].kind {
            let regex: SafeRegex
            do {
                regex = try SafeRegex(pattern)
            } catch {
                throw self.error("invalid regular expression: \(error.message)", at: args[0].offset)
            }
            return try make(.matchesCompiled(target, regex), at: offset)
        }
        return try make(.method(target, method, args), at: offset)
    }

    private func makeGlobalCall(name: String, args: [CELNode], at offset: Int) throws(CELError) -> CELNode {
        switch name {
        case "size":
            try arity(name, args, 1, at: offset)
            return try make(.size(args[0]), at: offset)
        case "timestamp":
            try arity(name, args, 1, at: offset)
            if case let .literal(.string(text)) = args[0].kind {
                guard let date = CELTimestamp.parse(text) else {
                    throw error("invalid timestamp '\(text)': expected RFC 3339, like 2025-01-31T00:00:00Z", at: args[0].offset)
                }
                return try make(.literal(.timestamp(date)), at: offset)
            }
            return try make(.timestamp(args[0]), at: offset)
        case "has", "all", "exists", "exists_one", "map", "filter":
            throw error("macro '\(name)' is not supported in conditions", at: offset, kind: .unsupported)
        default:
            throw error("unsupported function '\(name)'", at: offset, kind: .unsupported)
        }
    }
}
