import NIOCore
import NIOPosix
import RESP

/// A small RESP client connection used by the control plane to drive nodes (cluster forming,
/// health checks). Requests are pipelined in order; a request that times out closes the connection.
public final class ValkeyConnection: Sendable {
    public struct ConnectionError: Error, CustomStringConvertible {
        public var description: String
    }

    private let channel: any Channel
    public let host: String
    public let port: Int

    private init(channel: any Channel, host: String, port: Int) {
        self.channel = channel
        self.host = host
        self.port = port
    }

    /// Connects, and logs in with `user`/`password` when given.
    public static func connect(host: String, port: Int, user: String? = nil, password: String? = nil,
                               timeout: Duration = .seconds(5)) async throws -> ValkeyConnection {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.milliseconds(Int64(timeout.components.seconds * 1000)))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RESPClientHandler())
                }
            }
            .connect(host: host, port: port)
            .get()
        let connection = ValkeyConnection(channel: channel, host: host, port: port)
        if let password {
            let reply = try await connection.send(user.map { ["AUTH", $0, password] } ?? ["AUTH", password], timeout: timeout)
            if case .error(let message) = reply {
                connection.close()
                throw ConnectionError(description: "login to \(host):\(port) failed: \(message.split(separator: " ").first ?? "")")
            }
        }
        return connection
    }

    /// Sends one command and waits for its reply (errors come back as `.error`, not thrown).
    public func send(_ arguments: [String], timeout: Duration = .seconds(10)) async throws -> RESPValue {
        let promise = channel.eventLoop.makePromise(of: RESPValue.self)
        let timer = channel.eventLoop.scheduleTask(in: .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000)) { [channel] in
            promise.fail(ConnectionError(description: "timed out waiting for \(arguments.first ?? "reply")"))
            channel.close(promise: nil)
        }
        // A write that fails (the server closed the connection) fails the request at once.
        channel.writeAndFlush(RESPRequest(arguments: arguments, promise: promise)).whenFailure { promise.fail($0) }
        defer { timer.cancel() }
        return try await promise.futureResult.get()
    }

    /// Sends a command and returns its string reply, throwing on an error reply.
    public func string(_ arguments: [String]) async throws -> String {
        let reply = try await send(arguments)
        if case .error(let e) = reply { throw ConnectionError(description: "\(arguments.first ?? "") failed: \(e)") }
        if case .integer(let i) = reply { return String(i) }
        return reply.string ?? reply.description
    }

    public func close() {
        channel.close(promise: nil)
    }
}

struct RESPRequest: Sendable {
    var arguments: [String]
    var promise: EventLoopPromise<RESPValue>
}

/// Encodes requests and matches replies to them in order.
final class RESPClientHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = RESPRequest
    typealias OutboundOut = ByteBuffer

    private var pending = CircularBuffer<EventLoopPromise<RESPValue>>()
    private var received: ByteBuffer?

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        pending.append(request.promise)
        var buffer = context.channel.allocator.buffer(capacity: 64)
        RESPEncoder.encodeCommand(request.arguments, into: &buffer)
        context.write(wrapOutboundOut(buffer), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if received == nil { received = incoming } else { received!.writeBuffer(&incoming) }
        do {
            while var buffer = received, let value = try RESPParser.parse(&buffer) {
                received = buffer
                if let promise = pending.popFirst() {
                    promise.succeed(value)
                }
            }
            if received?.readableBytes == 0 { received = nil }
        } catch {
            failAll(error)
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(ValkeyConnection.ConnectionError(description: "connection closed"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(error)
        context.close(promise: nil)
    }

    private func failAll(_ error: any Error) {
        while let promise = pending.popFirst() { promise.fail(error) }
    }
}
