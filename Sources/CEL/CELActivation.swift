/// The inputs an expression is evaluated against.
public struct CELActivation: Sendable {
    /// Top-level variables, such as `resource` (a map with `name`, `type`, `service`)
    /// and `request` (a map with `time`).
    public var variables: [String: CELValue]
    /// The table `api.getAttribute(name, default)` reads, such as
    /// `iam.googleapis.com/modifiedGrantsByRole`.
    public var attributes: [String: CELValue]

    public init(variables: [String: CELValue] = [:], attributes: [String: CELValue] = [:]) {
        self.variables = variables
        self.attributes = attributes
    }
}
