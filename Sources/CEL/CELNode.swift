/// A node of a parsed expression.
///
/// A class so that its height is computed once as the tree is built: the height bounds
/// the recursion of evaluation (and of deinitialisation), which is what keeps hostile
/// input from exhausting the stack.
final class CELNode: Sendable {
    enum Comparison: String, Sendable {
        case equal = "=="
        case notEqual = "!="
        case less = "<"
        case lessEqual = "<="
        case greater = ">"
        case greaterEqual = ">="
        case `in` = "in"
    }

    enum Method: String, Sendable, CaseIterable {
        case startsWith, endsWith, contains, matches, size, hasOnly
    }

    enum Kind: Sendable {
        case literal(CELValue)
        case identifier(String)
        case select(CELNode, field: String)
        case index(CELNode, CELNode)
        case list([CELNode])
        case not(CELNode)
        case negate(CELNode)
        /// `&&` and `||` chains are n-ary so long chains stay shallow.
        case and([CELNode])
        case or([CELNode])
        case compare(Comparison, CELNode, CELNode)
        case conditional(CELNode, CELNode, CELNode)
        case method(CELNode, Method, [CELNode])
        /// `matches` with a literal pattern, compiled once at parse time.
        case matchesCompiled(CELNode, SafeRegex)
        /// `api.getAttribute(name, default)`.
        case getAttribute(CELNode, CELNode)
        /// Global `size(x)`.
        case size(CELNode)
        /// Global `timestamp(string)` with a non-literal argument.
        case timestamp(CELNode)
    }

    let kind: Kind
    /// Offset (in code points) of the token that produced this node, for messages.
    let offset: Int
    let height: Int

    init(_ kind: Kind, offset: Int) {
        self.kind = kind
        self.offset = offset
        let children: [CELNode]
        switch kind {
        case .literal, .identifier: children = []
        case let .select(a, _), let .not(a), let .negate(a), let .matchesCompiled(a, _), let .size(a), let .timestamp(a):
            children = [a]
        case let .index(a, b), let .compare(_, a, b), let .getAttribute(a, b): children = [a, b]
        case let .list(items), let .and(items), let .or(items): children = items
        case let .conditional(a, b, c): children = [a, b, c]
        case let .method(target, _, args): children = [target] + args
        }
        height = 1 + (children.map(\.height).max() ?? 0)
    }
}
