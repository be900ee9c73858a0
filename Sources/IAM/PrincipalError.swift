/// Why a member string is not a valid principal.
public struct PrincipalError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The offending text, for messages (members are identifiers, not secrets).
    public var member: String
    public var message: String

    public init(member: String, message: String) {
        self.member = member
        self.message = message
    }

    public var description: String { message }
}
