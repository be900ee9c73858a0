import ClusterOperations
import ControlPlane
import Foundation
import Hummingbird
import IAM
import IAMService

/// Redis Cluster v1: `projects.locations.clusters.*` and `projects.locations.operations.*`,
/// each call authorized with the permission Google checks for it.
struct RedisClusterRoutes {
    let manager: ClusterManager
    let iam: IAMService

    func register(on router: Router<BasicRequestContext>) {
        let base = "/v1/projects/:project/locations/:location"
        router.get("/v1/projects/:project/locations") { request, context in
            let project = try context.parameters.require("project")
            try iam.authorize(try iam.caller(request), .redisLocationsList, .project(project))
            let regions = ["us-central1", "us-east1", "us-west1", "europe-west1", "europe-west4", "asia-east1", "asia-northeast1"]
            let locations: [JSONValue] = regions.map { ["name": .string("projects/\(project)/locations/\($0)"), "locationId": .string($0)] }
            return JSONResponse.make(["locations": .array(locations)])
        }
        router.post("\(base)/clusters") { request, context in
            let name = try clusterName(context, id: request.uri.queryParameters.get("clusterId") ?? "")
            try iam.authorize(try iam.caller(request), .redisClustersCreate, resource(name))
            let body = try await JSONBody.read(request, context: context)
            let spec = try ClusterJSON.spec(from: body, project: name.project)
            let op = try await manager.create(name, spec: spec)
            return JSONResponse.make(ClusterJSON.operation(op))
        }
        router.get("\(base)/clusters") { request, context in
            let project = try context.parameters.require("project")
            let location = try context.parameters.require("location")
            try iam.authorize(try iam.caller(request), .redisClustersList, ResourceAttributes(name: "projects/\(project)/locations/\(location)", type: "redis.googleapis.com/Location", service: "redis.googleapis.com"))
            let clusters = try await manager.clusters(project: project, location: location)
            var body: [String: JSONValue] = [:]
            if !clusters.isEmpty { body["clusters"] = .array(clusters.map(ClusterJSON.cluster)) }
            return JSONResponse.make(.object(body))
        }
        router.get("\(base)/clusters/:cluster") { request, context in
            let name = try clusterName(context, id: context.parameters.require("cluster"))
            try iam.authorize(try iam.caller(request), .redisClustersGet, resource(name))
            return JSONResponse.make(ClusterJSON.cluster(try await manager.cluster(name)))
        }
        router.delete("\(base)/clusters/:cluster") { request, context in
            let name = try clusterName(context, id: context.parameters.require("cluster"))
            try iam.authorize(try iam.caller(request), .redisClustersDelete, resource(name))
            return JSONResponse.make(ClusterJSON.operation(try await manager.delete(name)))
        }
        router.get("\(base)/operations") { request, context in
            let project = try context.parameters.require("project")
            let location = try context.parameters.require("location")
            try iam.authorize(try iam.caller(request), .redisOperationsList, .project(project))
            let ops = try await manager.operations(project: project, location: location)
            var body: [String: JSONValue] = [:]
            if !ops.isEmpty { body["operations"] = .array(ops.map(ClusterJSON.operation)) }
            return JSONResponse.make(.object(body))
        }
        router.get("\(base)/operations/:operation") { request, context in
            let name = OperationName(project: try context.parameters.require("project"),
                                     location: try context.parameters.require("location"),
                                     operation: try context.parameters.require("operation"))
            try iam.authorize(try iam.caller(request), .redisOperationsGet, .project(name.project))
            return JSONResponse.make(ClusterJSON.operation(try await manager.operation(name)))
        }
    }

    private func resource(_ name: ClusterName) -> ResourceAttributes {
        .cluster(project: name.project, location: name.location, cluster: name.cluster)
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
