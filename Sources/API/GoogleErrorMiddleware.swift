import ControlPlane
import Foundation
import Hummingbird

/// Turns every error into Google's error JSON: `{"error": {"code", "message", "status"}}`.
struct GoogleErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return Self.response(error)
        } catch let error as HTTPError {
            let status: APIError.Status = switch error.status.code {
            case 404: .notFound
            case 405: .invalidArgument
            case 413: .invalidArgument
            case 401: .unauthenticated
            case 403: .permissionDenied
            default: error.status.code < 500 ? .invalidArgument : .internal
            }
            let message = error.status.code == 404 ? "The requested URL \(request.uri.path) was not found on this server." : (error.body ?? error.status.reasonPhrase)
            return Self.response(APIError(status, message))
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(error)"])
            return Self.response(APIError(.internal, "Internal error."))
        }
    }

    static func response(_ error: APIError) -> Response {
        let body: JSONValue = ["error": [
            "code": .number(Double(error.status.httpCode)),
            "message": .string(error.message),
            "status": .string(error.status.rawValue),
        ]]
        return JSONResponse.make(body, status: .init(code: error.status.httpCode))
    }
}

enum JSONResponse {
    static func make(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json; charset=UTF-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
