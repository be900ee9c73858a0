import NIOCore

/// Writes client commands as RESP arrays of bulk strings.
public enum RESPEncoder {
    public static func encodeCommand(_ arguments: [String], into buffer: inout ByteBuffer) {
        buffer.writeString("*\(arguments.count)\r\n")
        for argument in arguments {
            let utf8 = argument.utf8
            buffer.writeString("$\(utf8.count)\r\n")
            buffer.writeBytes(utf8)
            buffer.writeString("\r\n")
        }
    }
}
