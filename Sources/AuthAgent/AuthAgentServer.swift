import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The Unix-socket server the Valkey module asks on every uncached login (Module/PROTOCOL.md):
/// one `AUTH <cluster> <token>` line in, one verdict line out, then close.
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
        try? FileManager.default.removeItem(atPath: socketPath)
        let decider = self.decider
        let logger = self.logger
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 1024)
            .bind(unixDomainSocketPath: socketPath, cleanupExistingSocketFile: true) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineDecoder(maxLength: AuthRequest.maxLineLength)))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        // Only the owner (keygated and the nodes it starts) may ask.
        chmod(socketPath, 0o600)
        logger.info("auth agent listening", metadata: ["agent.socket": "\(socketPath)"])
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                try await server.executeThenClose { inbound in
                    for try await connection in inbound {
                        group.addTask {
                            await Self.serve(connection, decider: decider, logger: logger)
                        }
                    }
                }
            }
        } onGracefulShutdown: {
            server.channel.close(promise: nil)
        }
        try? FileManager.default.removeItem(atPath: socketPath)
    }

    private static func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>, decider: any LoginDecider, logger: Logger) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                var verdict = AuthVerdict.wrong
                for try await var line in inbound {
                    let text = line.readString(length: line.readableBytes) ?? ""
                    if let request = AuthRequest(line: Substring(text)) {
                        verdict = await decider.decide(cluster: request.cluster, token: request.token)
                    }
                    break
                }
                try await outbound.write(ByteBuffer(string: verdict.line))
            }
        } catch {
            // A line over the limit or a client gone early: nothing to answer.
            logger.debug("auth agent connection ended early", metadata: ["error": "\(error)"])
        }
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
