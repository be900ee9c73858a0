/// One lexical token and where it starts (an offset in Unicode code points).
struct CELToken: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        case identifier(String)
        /// The magnitude only: the parser applies a leading minus, so `-9223372036854775808` fits.
        case int(UInt64)
        case string(String)
        case trueLiteral, falseLiteral, nullLiteral
        case lParen, rParen, lBracket, rBracket, lBrace, rBrace
        case dot, comma, question, colon
        case equal, notEqual, less, lessEqual, greater, greaterEqual, inKeyword
        case not, and, or
        case plus, minus, star, slash, percent
        case end
    }

    var kind: Kind
    var offset: Int
}
