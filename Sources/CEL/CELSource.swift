/// Turns offsets into line and column for messages.
enum CELSource {
    static func error(_ kind: CELError.Kind, _ message: String, at offset: Int, in scalars: [Unicode.Scalar]) -> CELError {
        var line = 1
        var column = 1
        for scalar in scalars.prefix(offset) {
            if scalar == "\n" {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return CELError(kind: kind, message: message, line: line, column: column)
    }
}
