import ClusterOperations
import ControlPlane
import Foundation
import Hummingbird

/// Redis Cluster v1: `projects.locations.clusters.*` and `projects.locations.operations.*`.
struct RedisClusterRoutes {
    let manager: ClusterManager

    func register(on router: Router<BasicRequestContext>) {
        let base = "/v1/projects/:project/locations/:location"
        router.get("/v1/projects/:project/locations") { _, context in
            let project = try context.parameters.require("project")
            let regions = ["us-central1", "us-east1", "us-west1", "europe-west1", "europe-west4", "asia-east1", "asia-northeast1"]
            let locations: [JSONValue] = regions.map { ["name": .string("projects/\(project)/locations/\($0)"), "locationId": .string($0)] }
            return JSONResponse.make(["locations": .array(locations)])
        }
        router.post("\(base)/clusters") { request, context in
            let name = try clusterName(context, id: request.uri.queryParameters.get("clusterId") ?? "")
            let body = try await JSONBody.read(request, context: context)
            let spec = try ClusterJSON.spec(from: body, project: name.project)
            let op = try await manager.create(name, spec: spec)
            return JSONResponse.make(ClusterJSON.operation(op))
        }
        router.get("\(base)/clusters") { _, context in
            let project = try context.parameters.require("project")
            let location = try context.parameters.require("location")
            let clusters = try await manager.clusters(project: project, location: location)
            var body: [String: JSONValue] = [:]
            if !clusters.isEmpty { body["clusters"] = .array(clusters.map(ClusterJSON.cluster)) }
            return JSONResponse.make(.object(body))
        }
        router.get("\(base)/clusters/:cluster") { _, context in
            let name = try clusterName(context, id: context.parameters.require("cluster"))
            return JSONResponse.make(ClusterJSON.cluster(try await manager.cluster(name)))
        }
        router.delete("\(base)/clusters/:cluster") { _, context in
            let name = try clusterName(context, id: context.parameters.require("cluster"))
            return JSONResponse.make(ClusterJSON.operation(try await manager.delete(name)))
        }
        router.get("\(base)/operations") { _, context in
            let project = try context.parameters.require("project")
            let location = try context.parameters.require("location")
            let ops = try await manager.operations(project: project, location: location)
            var body: [String: JSONValue] = [:]
            if !ops.isEmpty { body["operations"] = .array(ops.map(ClusterJSON.operation)) }
            return JSONResponse.make(.object(body))
        }
        router.get("\(base)/operations/:operation") { _, context in
            let name = OperationName(project: try context.parameters.require("project"),
                                     location: try context.parameters.require("location"),
                                     operation: try context.parameters.require("operation"))
            return JSONResponse.make(ClusterJSON.operation(try await manager.operation(name)))
        }
    }

    private func clusterName(_ context: BasicRequestContext, id: String) throws -> ClusterName {
        let name = ClusterName(project: try context.parameters.require("project"),
                               location: try context.parameters.require("location"), cluster: id)
        try ClusterSpecValidator.validateClusterID(id)
        return name
    }
}

enum JSONBody {
    static func read(_ request: Request, context: some RequestContext) async throws -> JSONValue {
        let buffer = try await request.body.collect(upTo: 1 << 20)
        guard buffer.readableBytes > 0 else { return .object([:]) }
        do {
            return try JSONValue.parse(Data(buffer.readableBytesView))
        } catch {
            throw APIError.invalidArgument("Invalid JSON payload received: the request body is not valid JSON.")
        }
    }
}
