#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Unpadded base64url (RFC 4648 §5), as JWTs and our tokens use it.
enum Base64URL {
    static func encode<D: DataProtocol>(_ data: D) -> String {
        var s = Data(data).base64EncodedString()
        while s.last == "=" { s.removeLast() }
        return String(s.map { c -> Character in
            switch c {
            case "+": "-"
            case "/": "_"
            default: c
            }
        })
    }

    /// Decodes strictly: only the base64url alphabet, no padding, no whitespace, and no
    /// stray bits in the last character, so every byte string has exactly one spelling
    /// (a token cannot be re-spelled into a different string that still verifies).
    static func decode<S: StringProtocol>(_ text: S) -> Data? {
        guard let data = decodeLenient(text), encode(data).utf8.elementsEqual(text.utf8) else { return nil }
        return data
    }

    private static func decodeLenient<S: StringProtocol>(_ text: S) -> Data? {
        var standard = ""
        standard.reserveCapacity(text.utf8.count + 3)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"):
                standard.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "-"): standard.append("+")
            case UInt8(ascii: "_"): standard.append("/")
            default: return nil
            }
        }
        switch standard.utf8.count % 4 {
        case 1: return nil
        case 2: standard += "=="
        case 3: standard += "="
        default: break
        }
        return Data(base64Encoded: standard)
    }
}

extension Sequence where Element == UInt8 {
    /// Lower-case hex.
    var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

enum RandomHex {
    /// `byteCount` random bytes from the system generator, as hex.
    static func make(byteCount: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<byteCount).map { _ in UInt8.random(in: .min ... .max, using: &generator) }.hexString
    }
}
