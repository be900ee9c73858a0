/// Splits an expression into tokens. Works on Unicode scalars so that positions in
/// messages match what a user counts, and never indexes past the end.
struct CELLexer {
    private let scalars: [Unicode.Scalar]
    private var position = 0

    init(_ scalars: [Unicode.Scalar]) {
        self.scalars = scalars
    }

    /// Lexes the whole input; the last token is always `.end`.
    static func tokenize(_ scalars: [Unicode.Scalar]) throws(CELError) -> [CELToken] {
        var lexer = CELLexer(scalars)
        var tokens: [CELToken] = []
        while true {
            let token = try lexer.next()
            tokens.append(token)
            if token.kind == .end { return tokens }
        }
    }

    private func peek(_ ahead: Int = 0) -> Unicode.Scalar? {
        let index = position + ahead
        return index < scalars.count ? scalars[index] : nil
    }

    private func error(_ message: String, at offset: Int, kind: CELError.Kind = .syntax) -> CELError {
        CELSource.error(kind, message, at: offset, in: scalars)
    }

    mutating func next() throws(CELError) -> CELToken {
        skipWhitespaceAndComments()
        let start = position
        guard let c = peek() else { return CELToken(kind: .end, offset: start) }

        func single(_ kind: CELToken.Kind, length: Int = 1) -> CELToken {
            position += length
            return CELToken(kind: kind, offset: start)
        }

        switch c {
        case "(": return single(.lParen)
        case ")": return single(.rParen)
        case "[": return single(.lBracket)
        case "]": return single(.rBracket)
        case "{": return single(.lBrace)
        case "}": return single(.rBrace)
        case ",": return single(.comma)
        case "?": return single(.question)
        case ":": return single(.colon)
        case "+": return single(.plus)
        case "-": return single(.minus)
        case "*": return single(.star)
        case "/": return single(.slash)
        case "%": return single(.percent)
        case ".":
            if let d = peek(1), d.isASCIIDigit {
                throw error("floating-point literals are not supported", at: start, kind: .unsupported)
            }
            return single(.dot)
        case "=":
            if peek(1) == "=" { return single(.equal, length: 2) }
            throw error("unexpected '='; use '==' to compare", at: start)
        case "!":
            if peek(1) == "=" { return single(.notEqual, length: 2) }
            return single(.not)
        case "<":
            if peek(1) == "=" { return single(.lessEqual, length: 2) }
            return single(.less)
        case ">":
            if peek(1) == "=" { return single(.greaterEqual, length: 2) }
            return single(.greater)
        case "&":
            if peek(1) == "&" { return single(.and, length: 2) }
            throw error("unexpected '&'; use '&&'", at: start)
        case "|":
            if peek(1) == "|" { return single(.or, length: 2) }
            throw error("unexpected '|'; use '||'", at: start)
        case "\"", "'":
            return CELToken(kind: .string(try lexString(raw: false)), offset: start)
        default:
            break
        }

        if c.isASCIIDigit {
            return CELToken(kind: .int(try lexNumber()), offset: start)
        }
        if c.isIdentifierStart {
            // String prefixes: r"raw", b"bytes".
            if let q = peek(1), q == "\"" || q == "'" {
                if c == "r" || c == "R" {
                    position += 1
                    return CELToken(kind: .string(try lexString(raw: true)), offset: start)
                }
                if c == "b" || c == "B" {
                    throw error("bytes literals are not supported", at: start, kind: .unsupported)
                }
            }
            var name = ""
            while let s = peek(), s.isIdentifierContinue {
                name.unicodeScalars.append(s)
                position += 1
            }
            switch name {
            case "true": return CELToken(kind: .trueLiteral, offset: start)
            case "false": return CELToken(kind: .falseLiteral, offset: start)
            case "null": return CELToken(kind: .nullLiteral, offset: start)
            case "in": return CELToken(kind: .inKeyword, offset: start)
            default:
                if CELLexer.reservedWords.contains(name) {
                    throw error("reserved identifier '\(name)'", at: start)
                }
                return CELToken(kind: .identifier(name), offset: start)
            }
        }
        throw error("unexpected character '\(CELLexer.printable(c))'", at: start)
    }

    static let reservedWords: Set<String> = [
        "as", "break", "const", "continue", "else", "for", "function", "if", "import",
        "let", "loop", "package", "namespace", "return", "var", "void", "while",
    ]

    private static func printable(_ c: Unicode.Scalar) -> String {
        c.value < 0x20 || c.value == 0x7F ? "\\u{\(String(c.value, radix: 16))}" : String(Character(c))
    }

    private mutating func skipWhitespaceAndComments() {
        while let c = peek() {
            switch c {
            case " ", "\t", "\n", "\r", "\u{0C}":
                position += 1
            case "/" where peek(1) == "/":
                while let s = peek(), s != "\n" { position += 1 }
            default:
                return
            }
        }
    }

    private mutating func lexNumber() throws(CELError) -> UInt64 {
        let start = position
        var value: UInt64 = 0
        var radix: UInt64 = 10
        if peek() == "0", let x = peek(1), x == "x" || x == "X" {
            radix = 16
            position += 2
        }
        var digits = 0
        while let c = peek(), let digit = c.digitValue(radix: radix) {
            let (times, o1) = value.multipliedReportingOverflow(by: radix)
            let (sum, o2) = times.addingReportingOverflow(UInt64(digit))
            if o1 || o2 { throw error("integer literal is out of range", at: start) }
            value = sum
            digits += 1
            position += 1
        }
        if digits == 0 { throw error("malformed hexadecimal literal", at: start) }
        if let c = peek() {
            if radix == 10, c == "." || c == "e" || c == "E", peek(1)?.isASCIIDigit == true || c != "." {
                throw error("floating-point literals are not supported", at: start, kind: .unsupported)
            }
            if c == "u" || c == "U" {
                throw error("unsigned integer literals are not supported", at: start, kind: .unsupported)
            }
            if c.isIdentifierContinue {
                throw error("malformed number", at: start)
            }
        }
        return value
    }

    /// Lexes a quoted string starting at the quote; supports triple quotes and CEL escapes.
    private mutating func lexString(raw: Bool) throws(CELError) -> String {
        let start = position - (raw ? 1 : 0)
        guard let quote = peek() else { throw error("unterminated string", at: start) }
        let triple = peek(1) == quote && peek(2) == quote
        position += triple ? 3 : 1
        var result = String.UnicodeScalarView()
        while true {
            guard let c = peek() else { throw error("unterminated string literal", at: start) }
            if c == quote {
                if !triple {
                    position += 1
                    return String(result)
                }
                if peek(1) == quote && peek(2) == quote {
                    position += 3
                    return String(result)
                }
            }
            if !triple && (c == "\n" || c == "\r") {
                throw error("newline in string literal", at: position)
            }
            if c == "\\" && !raw {
                result.append(try lexEscape())
                continue
            }
            result.append(c)
            position += 1
        }
    }

    private mutating func lexEscape() throws(CELError) -> Unicode.Scalar {
        let start = position
        position += 1  // the backslash
        guard let c = peek() else { throw error("unterminated string literal", at: start) }
        position += 1
        switch c {
        case "a": return "\u{07}"
        case "b": return "\u{08}"
        case "f": return "\u{0C}"
        case "n": return "\n"
        case "r": return "\r"
        case "t": return "\t"
        case "v": return "\u{0B}"
        case "\\", "'", "\"", "`", "?": return c
        case "x", "X": return try lexCodePoint(digits: 2, radix: 16, start: start)
        case "u": return try lexCodePoint(digits: 4, radix: 16, start: start)
        case "U": return try lexCodePoint(digits: 8, radix: 16, start: start)
        case "0", "1", "2", "3":
            position -= 1
            return try lexCodePoint(digits: 3, radix: 8, start: start)
        default:
            throw error("invalid escape sequence '\\\(CELLexer.printable(c))'", at: start)
        }
    }

    private mutating func lexCodePoint(digits: Int, radix: UInt64, start: Int) throws(CELError) -> Unicode.Scalar {
        var value: UInt32 = 0
        for _ in 0..<digits {
            guard let c = peek(), let d = c.digitValue(radix: radix) else {
                throw error("invalid escape sequence", at: start)
            }
            value = value * UInt32(radix) + UInt32(d)
            position += 1
        }
        guard let scalar = Unicode.Scalar(value) else {
            throw error("escape sequence is not a valid code point", at: start)
        }
        return scalar
    }
}

extension Unicode.Scalar {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
    var isIdentifierStart: Bool { ("a"..."z").contains(self) || ("A"..."Z").contains(self) || self == "_" }
    var isIdentifierContinue: Bool { isIdentifierStart || isASCIIDigit }

    func digitValue(radix: UInt64) -> Int? {
        let v: Int
        switch self {
        case "0"..."9": v = Int(value - 48)
        case "a"..."f": v = Int(value - 97 + 10)
        case "A"..."F": v = Int(value - 65 + 10)
        default: return nil
        }
        return v < Int(radix) ? v : nil
    }
}
