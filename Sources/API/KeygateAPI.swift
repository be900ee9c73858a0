import ClusterOperations
import ControlPlane
import Hummingbird
import IAMService

/// What `GET /keygate/v1/info` tells the CLI: the defaults made on first start.
public struct DaemonInfo: Sendable {
    public var defaultProject: String
    public var ownerAccount: String
    public var valkeyVersion: String
    public var iamAuthAvailable: Bool

    public init(defaultProject: String, ownerAccount: String, valkeyVersion: String, iamAuthAvailable: Bool) {
        self.defaultProject = defaultProject
        self.ownerAccount = ownerAccount
        self.valkeyVersion = valkeyVersion
        self.iamAuthAvailable = iamAuthAvailable
    }
}

/// Builds the HTTP router of keygated: Google-shaped APIs plus Keygate's own small info endpoint.
public enum KeygateAPI {
    public static func router(manager: ClusterManager, iam: IAMService, info: DaemonInfo) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: GoogleErrorMiddleware())
        router.get("/keygate/v1/info") { _, _ in
            JSONResponse.make([
                "ready": .bool(await manager.isReady),
                "defaultProject": .string(info.defaultProject),
                "ownerAccount": .string(info.ownerAccount),
                "valkeyVersion": .string(info.valkeyVersion),
                "iamAuthAvailable": .bool(info.iamAuthAvailable),
            ])
        }
        RedisClusterRoutes(manager: manager, iam: iam).register(on: router)
        OAuthTokenRoutes(iam: iam).register(on: router)
        IAMRoutes(iam: iam).register(on: router)
        ResourceManagerRoutes(iam: iam).register(on: router)
        RoleRoutes().register(on: router)
        return router
    }
}
