import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The Unix-socket server the Valkey module asks on every uncached login (Module/PROTOCOL.md):
/// `AUTH <cluster> <token>` lines in, one verdict line out per request, in order. A connection may
/// carry many requests (the module keeps its connections); the agent never closes it first.
public final class AuthAgentServer: Service {
    public let socketPath: String
    private let decider: any LoginDecider
    private let logger: Logger

    public init(socketPath: String, decider: any LoginDecider, logger: Logger) {
        self.socketPath = socketPath
        self.decider = decider
        self.logger = logger
    }

    public func run() async throws {
        let decider = self.decider
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 1024)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineDecoder(maxLength: AuthRequest.maxLineLength)))
                    try channel.pipeline.syncOperations.addHandler(AuthRequestHandler(decider: decider))
                }
            }
            .bind(unixDomainSocketPath: socketPath, cleanupExistingSocketFile: true)
            .get()
        // Only the owner (keygated and the nodes it starts) may ask.
        chmod(socketPath, 0o600)
        logger.info("auth agent listening", metadata: ["agent.socket": "\(socketPath)"])
        try await withGracefulShutdownHandler {
            try await server.closeFuture.get()
        } onGracefulShutdown: {
            server.close(promise: nil)
        }
        try? FileManager.default.removeItem(atPath: socketPath)
    }
}

/// Answers each request line on the event loop; replies are flushed once per read burst.
final class AuthRequestHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let decider: any LoginDecider

    init(decider: any LoginDecider) {
        self.decider = decider
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var line = unwrapInboundIn(data)
        let text = line.readString(length: line.readableBytes) ?? ""
        let verdict = AuthRequest(line: Substring(text)).map { decider.decide(cluster: $0.cluster, token: $0.token) } ?? .wrong
        context.write(wrapOutboundOut(context.channel.allocator.buffer(string: verdict.line)), promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A line over the limit or a peer gone: nothing sensible to answer.
        context.close(promise: nil)
    }
}

/// Splits the stream at `\n`; refuses lines longer than `maxLength`.
struct LineDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer
    let maxLength: Int

    struct LineTooLong: Error {}

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > maxLength { throw LineTooLong() }
            return .needMoreData
        }
        let length = newline - buffer.readerIndex
        guard length <= maxLength, let line = buffer.readSlice(length: length) else { throw LineTooLong() }
        buffer.moveReaderIndex(forwardBy: 1)
        context.fireChannelRead(wrapInboundOut(line))
        return .continue
    }
}
