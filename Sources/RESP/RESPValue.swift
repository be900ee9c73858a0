/// A RESP2/RESP3 value as the server sends it.
public enum RESPValue: Sendable, Equatable, CustomStringConvertible {
    case simpleString(String)
    case error(String)
    case integer(Int64)
    case bulkString([UInt8]?)
    case array([RESPValue]?)
    case map([(RESPValue, RESPValue)])
    case double(Double)
    case boolean(Bool)
    case null

    /// The text of a simple or bulk string.
    public var string: String? {
        switch self {
        case .simpleString(let s): s
        case .bulkString(let bytes?): String(decoding: bytes, as: UTF8.self)
        default: nil
        }
    }

    public var array: [RESPValue]? {
        if case .array(let values?) = self { return values }
        return nil
    }

    public var description: String {
        switch self {
        case .simpleString(let s): s
        case .error(let e): "(error) \(e)"
        case .integer(let i): "(integer) \(i)"
        case .bulkString(let b?): String(decoding: b, as: UTF8.self)
        case .bulkString(nil), .array(nil), .null: "(nil)"
        case .array(let a?): "[" + a.map(\.description).joined(separator: ", ") + "]"
        case .map(let pairs): "{" + pairs.map { "\($0.0): \($0.1)" }.joined(separator: ", ") + "}"
        case .double(let d): "\(d)"
        case .boolean(let b): "\(b)"
        }
    }

    public static func == (lhs: RESPValue, rhs: RESPValue) -> Bool {
        switch (lhs, rhs) {
        case let (.simpleString(a), .simpleString(b)), let (.error(a), .error(b)): a == b
        case let (.integer(a), .integer(b)): a == b
        case let (.bulkString(a), .bulkString(b)): a == b
        case let (.array(a), .array(b)): a == b
        case let (.map(a), .map(b)): a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case let (.double(a), .double(b)): a == b
        case let (.boolean(a), .boolean(b)): a == b
        case (.null, .null): true
        default: false
        }
    }
}
