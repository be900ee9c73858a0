import NIOCore
import RESP
import Testing

struct RESPParserTests {
    static let vectors: [(String, RESPValue)] = [
        ("+OK\r\n", .simpleString("OK")),
        ("-NOAUTH Authentication required.\r\n", .error("NOAUTH Authentication required.")),
        (":42\r\n", .integer(42)),
        (":-7\r\n", .integer(-7)),
        ("$5\r\nhello\r\n", .bulkString(Array("hello".utf8))),
        ("$0\r\n\r\n", .bulkString([])),
        ("$-1\r\n", .bulkString(nil)),
        ("*-1\r\n", .array(nil)),
        ("*2\r\n$1\r\na\r\n:1\r\n", .array([.bulkString([97]), .integer(1)])),
        ("_\r\n", .null),
        ("#t\r\n", .boolean(true)),
        (",1.5\r\n", .double(1.5)),
        ("%1\r\n+k\r\n:1\r\n", .map([(.simpleString("k"), .integer(1))])),
        ("*1\r\n*1\r\n+deep\r\n", .array([.array([.simpleString("deep")])])),
    ]

    @Test(arguments: vectors)
    func parsesWholeValues(_ text: String, _ expected: RESPValue) throws {
        var buffer = ByteBuffer(string: text)
        #expect(try RESPParser.parse(&buffer) == expected)
        #expect(buffer.readableBytes == 0)
    }

    @Test(arguments: vectors)
    func incompleteInputConsumesNothing(_ text: String, _ expected: RESPValue) throws {
        for cut in 1..<text.utf8.count {
            var buffer = ByteBuffer(string: String(decoding: Array(text.utf8).prefix(cut), as: UTF8.self))
            let before = buffer.readableBytes
            #expect(try RESPParser.parse(&buffer) == nil)
            #expect(buffer.readableBytes == before)
        }
    }

    @Test func rejectsGarbageAndDeepNesting() {
        var garbage = ByteBuffer(string: "?what\r\n")
        #expect(throws: RESPParser.ParseError.self) { try RESPParser.parse(&garbage) }
        var deep = ByteBuffer(string: String(repeating: "*1\r\n", count: 100) + ":1\r\n")
        #expect(throws: RESPParser.ParseError.self) { try RESPParser.parse(&deep) }
    }

    @Test func encodesCommands() {
        var buffer = ByteBuffer()
        RESPEncoder.encodeCommand(["SET", "k", "välue"], into: &buffer)
        #expect(String(buffer: buffer) == "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$6\r\nvälue\r\n")
    }

    @Test(arguments: [("foo", 12182), ("bar", 5061), ("{user1000}.following", 3443), ("{user1000}.followers", 3443), ("", 0), ("{}x", 10595)])
    func hashSlots(_ key: String, _ slot: Int) {
        #expect(HashSlot.slot(for: key) == slot)
    }
}
