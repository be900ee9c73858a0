#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A value a CEL expression works with.
///
/// Only the types IAM conditions need: no doubles, unsigned ints or bytes.
public enum CELValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case string(String)
    case list([CELValue])
    case map([String: CELValue])
    case timestamp(Date)

    /// The CEL type name, as used in error messages.
    public var typeName: String {
        switch self {
        case .null: "null_type"
        case .bool: "bool"
        case .int: "int"
        case .string: "string"
        case .list: "list"
        case .map: "map"
        case .timestamp: "google.protobuf.Timestamp"
        }
    }

    /// CEL equality: values of different types are unequal (never an error), and strings
    /// compare by code point rather than by Swift's canonical equivalence, so two spellings
    /// of an accented name cannot stand in for each other in a security check.
    func celEquals(_ other: CELValue) -> Bool {
        switch (self, other) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.int(a), .int(b)): return a == b
        case let (.string(a), .string(b)): return a.unicodeScalars.elementsEqual(b.unicodeScalars)
        case let (.timestamp(a), .timestamp(b)): return a == b
        case let (.list(a), .list(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.celEquals($1) }
        case let (.map(a), .map(b)):
            guard a.count == b.count else { return false }
            for (key, value) in a {
                guard let otherValue = b[key], value.celEquals(otherValue) else { return false }
            }
            return true
        default: return false
        }
    }
}

extension CELValue: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
}

extension CELValue: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int64) { self = .int(value) }
}

extension CELValue: ExpressibleByBooleanLiteral {
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

extension CELValue: ExpressibleByNilLiteral {
    public init(nilLiteral: ()) { self = .null }
}

extension CELValue: ExpressibleByArrayLiteral {
    public init(arrayLiteral elements: CELValue...) { self = .list(elements) }
}

extension CELValue: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, CELValue)...) {
        self = .map(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

extension CELValue: CustomStringConvertible {
    public var description: String {
        switch self {
        case .null: return "null"
        case let .bool(b): return b ? "true" : "false"
        case let .int(i): return String(i)
        case let .string(s): return CELValue.quoted(s)
        case let .list(l): return "[" + l.map(\.description).joined(separator: ", ") + "]"
        case let .map(m):
            let entries = m.keys.sorted().map { "\(CELValue.quoted($0)): \(m[$0]!.description)" }
            return "{" + entries.joined(separator: ", ") + "}"
        case let .timestamp(d): return "timestamp(\(Int64(d.timeIntervalSince1970.rounded(.down))))"
        }
    }

    private static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 {
                    out += "\\x" + String(scalar.value, radix: 16).leftPadded(to: 2)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

extension String {
    func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
