import ControlPlane
import Hummingbird
import IAM
import IAMService

extension IAMService {
    /// The authenticated caller of an API request (its bearer token), or UNAUTHENTICATED.
    func caller(_ request: Request) throws -> Principal {
        try authenticate(bearer: request.headers[.authorization])
    }
}
