import Logging
import NIOCore
import NIOPosix

/// A cluster's discovery endpoint: a stable TCP address owned by keygated that splices each client
/// connection to a live node. The client then talks RESP to that node directly (AUTH included), and
/// `CLUSTER SHARDS`/`MOVED` name the nodes' real addresses, so `redis-cli -c` follows them.
public final class DiscoveryForwarder: Sendable {
    public typealias BackendPicker = @Sendable () -> [(host: String, port: Int)]

    public let host: String
    public let port: Int
    private let channel: any Channel

    private init(host: String, port: Int, channel: any Channel) {
        self.host = host
        self.port = port
        self.channel = channel
    }

    /// Binds `host:port` and forwards each connection to the first backend that accepts it.
    public static func start(host: String, port: Int, backends: @escaping BackendPicker, logger: Logger) async throws -> DiscoveryForwarder {
        let group = MultiThreadedEventLoopGroup.singleton
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { inbound in
                connectBackend(for: inbound, candidates: backends()[...], logger: logger)
            }
            .bind(host: host, port: port)
            .get()
        return DiscoveryForwarder(host: host, port: port, channel: channel)
    }

    private static func connectBackend(for inbound: any Channel, candidates: ArraySlice<(host: String, port: Int)>,
                                       logger: Logger) -> EventLoopFuture<Void> {
        guard let target = candidates.first else {
            logger.warning("discovery endpoint has no live node to forward to")
            return inbound.eventLoop.makeFailedFuture(ChannelError.connectPending)
        }
        return ClientBootstrap(group: inbound.eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(2))
            .connect(host: target.host, port: target.port)
            .flatMapThrowing { outbound in
                // Both channels live on the same event loop, so the pipelines can be edited synchronously.
                let (a, b) = SpliceHandler.pair()
                do {
                    try inbound.pipeline.syncOperations.addHandler(a)
                    try outbound.pipeline.syncOperations.addHandler(b)
                } catch {
                    outbound.close(promise: nil)
                    throw error
                }
                // Start reading the client only now that its bytes have somewhere to go.
                try inbound.syncOptions?.setOption(.autoRead, value: true)
            }
            .flatMapError { error in
                logger.debug("discovery backend \(target.host):\(target.port) refused: \(error)")
                return connectBackend(for: inbound, candidates: candidates.dropFirst(), logger: logger)
            }
    }

    public func stop() async {
        try? await channel.close()
    }
}

/// One half of a byte splice between two channels on the same event loop, with backpressure:
/// a side only reads when the other side is writable.
final class SpliceHandler: ChannelDuplexHandler {
    typealias InboundIn = NIOAny
    typealias OutboundIn = NIOAny
    typealias OutboundOut = NIOAny

    private var partner: SpliceHandler?
    private var context: ChannelHandlerContext?
    private var pendingRead = false

    static func pair() -> (SpliceHandler, SpliceHandler) {
        let a = SpliceHandler()
        let b = SpliceHandler()
        a.partner = b
        b.partner = a
        return (a, b)
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        partner?.partnerWrite(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        partner?.partnerFlush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner?.partnerClose()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { partner?.partnerBecameWritable() }
    }

    func read(context: ChannelHandlerContext) {
        if partner?.partnerWritable ?? false {
            context.read()
        } else {
            pendingRead = true
        }
    }

    private func partnerWrite(_ data: NIOAny) { context?.write(data, promise: nil) }
    private func partnerFlush() { context?.flush() }
    private func partnerClose() { context?.close(promise: nil) }
    private var partnerWritable: Bool { context?.channel.isWritable ?? false }

    private func partnerBecameWritable() {
        if pendingRead {
            pendingRead = false
            context?.read()
        }
    }
}
