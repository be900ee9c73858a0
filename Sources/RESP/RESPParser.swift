import NIOCore

/// Parses one RESP value from the front of a buffer; returns nil (consuming nothing) when the
/// buffer does not hold a whole value yet.
public enum RESPParser {
    public struct ParseError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Nesting deeper than this is refused, so hostile input cannot exhaust the stack.
    static let maxDepth = 64

    public static func parse(_ buffer: inout ByteBuffer) throws(ParseError) -> RESPValue? {
        var copy = buffer
        guard let value = try parseValue(&copy, depth: 0) else { return nil }
        buffer = copy
        return value
    }

    private static func parseValue(_ buffer: inout ByteBuffer, depth: Int) throws(ParseError) -> RESPValue? {
        guard depth < maxDepth else { throw ParseError(description: "RESP nesting too deep") }
        guard let type = buffer.readInteger(as: UInt8.self) else { return nil }
        guard let line = readLine(&buffer) else { return nil }
        switch type {
        case UInt8(ascii: "+"): return .simpleString(line)
        case UInt8(ascii: "-"), UInt8(ascii: "!"):
            if type == UInt8(ascii: "!") {
                guard let bytes = try readBulk(&buffer, lengthLine: line) else { return nil }
                return .error(String(decoding: bytes ?? [], as: UTF8.self))
            }
            return .error(line)
        case UInt8(ascii: ":"):
            guard let i = Int64(line) else { throw ParseError(description: "bad integer \(line)") }
            return .integer(i)
        case UInt8(ascii: "$"), UInt8(ascii: "="):
            guard let bytes = try readBulk(&buffer, lengthLine: line) else { return nil }
            return .bulkString(bytes)
        case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"):
            guard let count = Int(line) else { throw ParseError(description: "bad array length \(line)") }
            if count < 0 { return .array(nil) }
            var values: [RESPValue] = []
            values.reserveCapacity(min(count, 1024))
            for _ in 0..<count {
                guard let v = try parseValue(&buffer, depth: depth + 1) else { return nil }
                values.append(v)
            }
            return .array(values)
        case UInt8(ascii: "%"), UInt8(ascii: "|"):
            guard let count = Int(line), count >= 0 else { throw ParseError(description: "bad map length \(line)") }
            var pairs: [(RESPValue, RESPValue)] = []
            for _ in 0..<count {
                guard let k = try parseValue(&buffer, depth: depth + 1), let v = try parseValue(&buffer, depth: depth + 1) else { return nil }
                pairs.append((k, v))
            }
            if type == UInt8(ascii: "|") {  // an attribute precedes the real value
                return try parseValue(&buffer, depth: depth + 1)
            }
            return .map(pairs)
        case UInt8(ascii: "_"): return .null
        case UInt8(ascii: "#"): return .boolean(line == "t")
        case UInt8(ascii: ","):
            guard let d = Double(line) else { throw ParseError(description: "bad double \(line)") }
            return .double(d)
        case UInt8(ascii: "("): return .simpleString(line)
        default:
            throw ParseError(description: "unknown RESP type byte \(type)")
        }
    }

    /// nil: incomplete; .some(nil): a null bulk string.
    private static func readBulk(_ buffer: inout ByteBuffer, lengthLine: String) throws(ParseError) -> [UInt8]?? {
        guard let length = Int(lengthLine) else { throw ParseError(description: "bad bulk length \(lengthLine)") }
        if length < 0 { return .some(nil) }
        guard buffer.readableBytes >= length + 2, let bytes = buffer.readBytes(length: length) else { return nil }
        buffer.moveReaderIndex(forwardBy: 2)
        return .some(bytes)
    }

    private static func readLine(_ buffer: inout ByteBuffer) -> String? {
        let view = buffer.readableBytesView
        guard let cr = view.firstIndex(of: UInt8(ascii: "\r")), cr + 1 < view.endIndex,
              view[cr + 1] == UInt8(ascii: "\n") else { return nil }
        let line = buffer.readString(length: cr - view.startIndex)
        buffer.moveReaderIndex(forwardBy: 2)
        return line
    }
}
