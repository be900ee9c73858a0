#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Walks a parsed tree. Recursion depth is bounded by the tree's height, which the parser
/// limits to `CELExpression.maxDepth`.
struct CELEvaluator {
    let activation: CELActivation
    let scalars: [Unicode.Scalar]

    private func error(_ message: String, at node: CELNode) -> CELError {
        CELSource.error(.evaluation, message, at: node.offset, in: scalars)
    }

    private func noOverload(_ function: String, _ args: [CELValue], at node: CELNode) -> CELError {
        error("no such overload: \(function)(\(args.map(\.typeName).joined(separator: ", ")))", at: node)
    }

    func evaluate(_ node: CELNode) throws(CELError) -> CELValue {
        switch node.kind {
        case let .literal(value):
            return value

        case let .identifier(name):
            guard let value = activation.variables[name] else {
                throw error("undeclared reference to '\(name)'", at: node)
            }
            return value

        case let .select(target, field):
            let base = try evaluate(target)
            guard case let .map(map) = base else {
                throw error("type '\(base.typeName)' does not support field selection", at: node)
            }
            guard let value = map[field] else { throw error("no such key: '\(field)'", at: node) }
            return value

        case let .index(target, key):
            let base = try evaluate(target)
            let k = try evaluate(key)
            switch (base, k) {
            case let (.list(list), .int(i)):
                guard i >= 0, i < list.count else { throw error("index out of range: \(i)", at: node) }
                return list[Int(i)]
            case let (.map(map), .string(s)):
                guard let value = map[s] else { throw error("no such key: '\(s)'", at: node) }
                return value
            default:
                throw noOverload("_[_]", [base, k], at: node)
            }

        case let .list(items):
            var values: [CELValue] = []
            values.reserveCapacity(items.count)
            for item in items { values.append(try evaluate(item)) }
            return .list(values)

        case let .not(operand):
            let v = try evaluate(operand)
            guard case let .bool(b) = v else { throw noOverload("!_", [v], at: node) }
            return .bool(!b)

        case let .negate(operand):
            let v = try evaluate(operand)
            guard case let .int(i) = v else { throw noOverload("-_", [v], at: node) }
            guard i != .min else { throw error("integer overflow", at: node) }
            return .int(-i)

        case let .and(operands):
            return try logical(operands, stopOn: false, name: "_&&_", at: node)

        case let .or(operands):
            return try logical(operands, stopOn: true, name: "_||_", at: node)

        case let .compare(op, lhs, rhs):
            return try compare(op, try evaluate(lhs), try evaluate(rhs), at: node)

        case let .conditional(condition, then, otherwise):
            let c = try evaluate(condition)
            guard case let .bool(b) = c else { throw noOverload("_?_:_", [c], at: node) }
            return try evaluate(b ? then : otherwise)

        case let .method(target, method, args):
            let receiver = try evaluate(target)
            var values: [CELValue] = []
            for arg in args { values.append(try evaluate(arg)) }
            return try call(method, receiver, values, at: node)

        case let .matchesCompiled(target, regex):
            let receiver = try evaluate(target)
            guard case let .string(s) = receiver else { throw noOverload("matches", [receiver, .string("")], at: node) }
            return .bool(regex.matches(s))

        case let .getAttribute(name, fallback):
            let n = try evaluate(name)
            guard case let .string(key) = n else { throw noOverload("getAttribute", [n], at: node) }
            if let value = activation.attributes[key] { return value }
            return try evaluate(fallback)

        case let .size(operand):
            return try call(.size, try evaluate(operand), [], at: node)

        case let .timestamp(operand):
            let v = try evaluate(operand)
            guard case let .string(text) = v else { throw noOverload("timestamp", [v], at: node) }
            guard let date = CELTimestamp.parse(text) else { throw error("invalid timestamp '\(text)'", at: node) }
            return .timestamp(date)
        }
    }

    /// CEL's commutative logic: a deciding value (`false` for `&&`, `true` for `||`) wins even
    /// over an error in another operand; otherwise the first error is reported.
    private func logical(_ operands: [CELNode], stopOn decisive: Bool, name: String, at node: CELNode) throws(CELError) -> CELValue {
        var firstError: CELError?
        for operand in operands {
            do {
                let v = try evaluate(operand)
                guard case let .bool(b) = v else {
                    if firstError == nil { firstError = noOverload(name, [v], at: node) }
                    continue
                }
                if b == decisive { return .bool(decisive) }
            } catch {
                if firstError == nil { firstError = error }
            }
        }
        if let firstError { throw firstError }
        return .bool(!decisive)
    }

    private func compare(_ op: CELNode.Comparison, _ a: CELValue, _ b: CELValue, at node: CELNode) throws(CELError) -> CELValue {
        switch op {
        case .equal: return .bool(a.celEquals(b))
        case .notEqual: return .bool(!a.celEquals(b))
        case .in:
            switch b {
            case let .list(list): return .bool(list.contains { a.celEquals($0) })
            case let .map(map):
                guard case let .string(key) = a else { throw noOverload("@in", [a, b], at: node) }
                return .bool(map[key] != nil)
            default: throw noOverload("@in", [a, b], at: node)
            }
        case .less, .lessEqual, .greater, .greaterEqual:
            let order: Int
            switch (a, b) {
            case let (.int(x), .int(y)): order = x < y ? -1 : (x == y ? 0 : 1)
            case let (.bool(x), .bool(y)): order = x == y ? 0 : (!x ? -1 : 1)
            case let (.timestamp(x), .timestamp(y)): order = x < y ? -1 : (x == y ? 0 : 1)
            case let (.string(x), .string(y)):
                // Code point order, as CEL specifies (not Swift's normalised order).
                if x.unicodeScalars.elementsEqual(y.unicodeScalars) {
                    order = 0
                } else {
                    order = x.unicodeScalars.lexicographicallyPrecedes(y.unicodeScalars) { $0.value < $1.value } ? -1 : 1
                }
            default:
                throw noOverload("_\(op.rawValue)_", [a, b], at: node)
            }
            switch op {
            case .less: return .bool(order < 0)
            case .lessEqual: return .bool(order <= 0)
            case .greater: return .bool(order > 0)
            default: return .bool(order >= 0)
            }
        }
    }

    private func call(_ method: CELNode.Method, _ receiver: CELValue, _ args: [CELValue], at node: CELNode) throws(CELError) -> CELValue {
        switch (method, receiver, args.first) {
        case let (.startsWith, .string(s), .string(p)?):
            return .bool(s.unicodeScalars.starts(with: p.unicodeScalars))
        case let (.endsWith, .string(s), .string(p)?):
            return .bool(s.unicodeScalars.reversed().starts(with: p.unicodeScalars.reversed()))
        case let (.contains, .string(s), .string(p)?):
            return .bool(CELEvaluator.contains(Array(s.unicodeScalars), Array(p.unicodeScalars)))
        case let (.matches, .string(s), .string(p)?):
            do {
                return .bool(try SafeRegex(p).matches(s))
            } catch {
                throw self.error("invalid regular expression: \(error.message)", at: node)
            }
        case (.size, .string(let s), nil): return .int(Int64(s.unicodeScalars.count))
        case (.size, .list(let l), nil): return .int(Int64(l.count))
        case (.size, .map(let m), nil): return .int(Int64(m.count))
        case let (.hasOnly, .list(items), .list(allowed)?):
            return .bool(items.allSatisfy { item in allowed.contains { item.celEquals($0) } })
        default:
            throw noOverload(method.rawValue, [receiver] + args, at: node)
        }
    }

    private static func contains(_ haystack: [Unicode.Scalar], _ needle: [Unicode.Scalar]) -> Bool {
        if needle.isEmpty { return true }
        guard needle.count <= haystack.count else { return false }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if haystack[start..<(start + needle.count)].elementsEqual(needle) { return true }
        }
        return false
    }
}
