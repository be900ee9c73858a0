/// An error with a Google canonical status; the API layer turns it into Google's error JSON.
public struct APIError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Status: String, Sendable, Codable {
        case invalidArgument = "INVALID_ARGUMENT"
        case failedPrecondition = "FAILED_PRECONDITION"
        case notFound = "NOT_FOUND"
        case alreadyExists = "ALREADY_EXISTS"
        case permissionDenied = "PERMISSION_DENIED"
        case unauthenticated = "UNAUTHENTICATED"
        case resourceExhausted = "RESOURCE_EXHAUSTED"
        case aborted = "ABORTED"
        case unavailable = "UNAVAILABLE"
        case `internal` = "INTERNAL"

        /// The HTTP status Google pairs with each canonical code.
        public var httpCode: Int {
            switch self {
            case .invalidArgument, .failedPrecondition: 400
            case .unauthenticated: 401
            case .permissionDenied: 403
            case .notFound: 404
            case .alreadyExists, .aborted: 409
            case .resourceExhausted: 429
            case .internal: 500
            case .unavailable: 503
            }
        }

        /// The numeric `google.rpc.Code`, used in operation errors.
        public var rpcCode: Int {
            switch self {
            case .invalidArgument: 3
            case .failedPrecondition: 9
            case .notFound: 5
            case .alreadyExists: 6
            case .aborted: 10
            case .permissionDenied: 7
            case .unauthenticated: 16
            case .resourceExhausted: 8
            case .unavailable: 14
            case .internal: 13
            }
        }
    }

    public var status: Status
    public var message: String

    public init(_ status: Status, _ message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { "\(status.rawValue): \(message)" }

    public static func invalidArgument(_ message: String) -> APIError { APIError(.invalidArgument, message) }
    public static func notFound(_ message: String) -> APIError { APIError(.notFound, message) }
}
