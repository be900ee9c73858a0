// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "Keygate",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "keygated", targets: ["keygated"]),
        .executable(name: "keygate", targets: ["keygate"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // Codec only: RESP values, decoder, encoder, hash slots. No sockets.
        .target(name: "RESP", dependencies: [.product(name: "NIOCore", package: "swift-nio")], swiftSettings: swiftSettings),
        // Spawning detached processes, liveness, port probes (POSIX).
        .target(name: "LocalProcess", swiftSettings: swiftSettings),
        // The CEL subset used by IAM conditions: lexer, parser, evaluator. Pure.
        .target(name: "CEL", swiftSettings: swiftSettings),
        // Principals, roles, policies, token minting and verification. No I/O.
        .target(name: "IAM", dependencies: [
            "CEL",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "_CryptoExtras", package: "swift-crypto"),
        ], swiftSettings: swiftSettings),
        // Cluster and operation models, validation, Google-shaped errors. Pure.
        .target(name: "ControlPlane", swiftSettings: swiftSettings),
        // SQLite repositories for control-plane state.
        .target(name: "Storage", dependencies: ["ControlPlane", .product(name: "GRDB", package: "GRDB.swift")], swiftSettings: swiftSettings),
        // Spawning, configuring and talking to real valkey-server processes; discovery forwarders.
        .target(name: "ValkeyRuntime", dependencies: [
            "RESP", "ControlPlane", "LocalProcess",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], swiftSettings: swiftSettings),
        // Long-running operations: create/delete clusters, supervise nodes, re-adopt on restart.
        .target(name: "ClusterOperations", dependencies: [
            "ControlPlane", "Storage", "ValkeyRuntime",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], swiftSettings: swiftSettings),
        // IAM with state: identities, keys, OAuth2 grants, policies, permission checks.
        .target(name: "IAMService", dependencies: [
            "IAM", "CEL", "Storage", "ControlPlane",
            .product(name: "Crypto", package: "swift-crypto"),
        ], swiftSettings: swiftSettings),
        // The Unix-socket server the Valkey module asks on each uncached login; check rate limiting.
        .target(name: "AuthAgent", dependencies: [
            "IAM", "IAMService", "ControlPlane",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], swiftSettings: swiftSettings),
        // Hummingbird routes in Google's REST shapes, Google error JSON.
        .target(name: "API", dependencies: [
            "ControlPlane", "ClusterOperations", "IAM", "IAMService",
            .product(name: "Hummingbird", package: "hummingbird"),
        ], swiftSettings: swiftSettings),
        // Composition of the daemon's services.
        .target(name: "KeygateDaemon", dependencies: [
            "API", "AuthAgent", "IAMService", "ClusterOperations", "Storage", "ValkeyRuntime",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: swiftSettings),
        // The gcloud-shaped command tree and its HTTP client.
        .target(name: "KeygateCLI", dependencies: [
            "ControlPlane", "LocalProcess", "IAM",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: swiftSettings),
        .executableTarget(name: "keygated", dependencies: [
            "KeygateDaemon",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: swiftSettings),
        .executableTarget(name: "keygate", dependencies: ["KeygateCLI"], swiftSettings: swiftSettings),

        .testTarget(name: "RESPTests", dependencies: ["RESP", .product(name: "NIOCore", package: "swift-nio")], swiftSettings: swiftSettings),
        .testTarget(name: "CELTests", dependencies: ["CEL"], swiftSettings: swiftSettings),
        .testTarget(name: "IAMTests", dependencies: ["IAM"], swiftSettings: swiftSettings),
        .testTarget(name: "AuthAgentTests", dependencies: [
            "AuthAgent", "IAM", "IAMService", "Storage",
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: swiftSettings),
        .testTarget(name: "ControlPlaneTests", dependencies: ["ControlPlane"], swiftSettings: swiftSettings),
        .testTarget(name: "IntegrationTests", dependencies: [
            "RESP", "ValkeyRuntime", "ControlPlane", "LocalProcess", "IAM",
            .product(name: "Crypto", package: "swift-crypto"),
        ], swiftSettings: swiftSettings),
    ]
)
