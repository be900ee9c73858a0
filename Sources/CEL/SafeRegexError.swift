/// Why a regular expression was refused.
struct SafeRegexError: Error, Sendable {
    let message: String
}
