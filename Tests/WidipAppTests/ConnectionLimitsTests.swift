import Foundation
import HTTPTypes
import Testing
@testable import WidipApp

/// Sockets from outside that send nothing, too little, too much or garbage: each is answered or closed, never held.
/// One test at a time: each holds many sockets, and the suites around it must keep their share of two cores.
@Suite("Connections that are slow, idle or malformed", .serialized, .timeLimit(.minutes(2)))
struct ConnectionLimitsTests {
    static let shortLimits: @Sendable (inout AppConfig) -> Void = {
        $0.connectionTimeouts = ConnectionTimeouts(requestHead: .seconds(2), idle: .seconds(3))
    }

    /// A bearer token fetched over a connection of its own: with short limits, the test client's shared connection
    /// may already have been closed as idle.
    func token(_ server: LiveServer, level: AccreditationLevel) async throws -> String {
        let user = try await server.createUser("limite-\(UUID().uuidString.prefix(6).lowercased())", level: level)
        let login = try await server.browserRequest(
            .post, "/api/auth/login", body: #"{"username":"\#(user.username)","password":"motdepasse-solide"}"#,
            headers: HTTPFields([("Content-Type", "application/json")])
        )
        return try #require(login.json["access_token"] as? String)
    }

    @Test func aConnectionThatSendsNothingOrHalfAHeadIsClosed() async throws {
        try await LiveServer.run(adjust: Self.shortLimits) { server in
            let silent = try (0..<20).map { _ in try RawConnection(port: server.port) }
            let halfHead = try RawConnection(port: server.port)
            try await halfHead.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            #expect(await halfHead.readUntilClosed(timeout: .seconds(60)) == "", "no answer, just closed")
            for connection in silent { #expect(await connection.readUntilClosed(timeout: .seconds(60)) == "") }
        }
    }

    @Test func oversizedHeadersAreAnswered431AndClosed() async throws {
        try await LiveServer.run(adjust: Self.shortLimits) { server in
            let longHeader = try RawConnection(port: server.port)
            try await longHeader.send("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "a", count: 200 * 1024) + "\r\n\r\n")
            #expect(await longHeader.readUntilClosed(timeout: .seconds(60))?.hasPrefix("HTTP/1.1 431") == true)

            let manyHeaders = try RawConnection(port: server.port)
            try await manyHeaders.send("GET /health HTTP/1.1\r\nHost: x\r\n" + (0..<5000).map { "X-H\($0): v\r\n" }.joined() + "\r\n")
            #expect(await manyHeaders.readUntilClosed(timeout: .seconds(60))?.hasPrefix("HTTP/1.1 431") == true)
        }
    }

    @Test func malformedRequestsAreAnswered400AndClosed() async throws {
        try await LiveServer.run(adjust: Self.shortLimits) { server in
            let invalidLine = try RawConnection(port: server.port)
            try await invalidLine.send(Array("GET /".utf8) + [0xFF] + Array(" HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            #expect(await invalidLine.readUntilClosed(timeout: .seconds(60))?.hasPrefix("HTTP/1.1 400") == true)

            let smuggling = try RawConnection(port: server.port)
            try await smuggling.send("POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
            #expect(await smuggling.readUntilClosed(timeout: .seconds(60))?.hasPrefix("HTTP/1.1 400") == true)
        }
    }

    @Test func anIdleKeepAliveConnectionIsClosedAfterItsAnswer() async throws {
        try await LiveServer.run(adjust: Self.shortLimits) { server in
            let connection = try RawConnection(port: server.port)
            try await connection.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            let received = await connection.readUntilClosed(timeout: .seconds(60))
            #expect(received?.hasPrefix("HTTP/1.1 200") == true, "answered, then closed once idle")
        }
    }

    @Test func aWebSocketOutlivesTheIdleTimeout() async throws {
        try await LiveServer.run(adjust: Self.shortLimits) { server in
            let socket = TestSocket(port: server.port, token: try await token(server, level: .n1))
            try socket.subscribe(["safeguard"])
            #expect(await socket.next(type: "subscribed") != nil)
            // Longer than the idle and head timeouts together: the socket must still be open and delivering.
            try await Task.sleep(for: .seconds(6))
            try await server.services.postgres.withConnection { connection in
                _ = try await server.services.events.publish(channel: .safeguard, type: "safeguard:new_request", data: ["n": 1], on: connection)
            }
            #expect(await socket.events(1).count == 1)
            socket.close()
        }
    }

    @Test func healthAnswersWhileManySocketsHangAround() async throws {
        try await LiveServer.run { server in
            var hanging: [RawConnection] = []
            for index in 0..<100 {
                let connection = try RawConnection(port: server.port)
                if index.isMultiple(of: 2) { try await connection.send("GET / HTTP/1.1\r\nHost: x\r\n") }
                hanging.append(connection)
            }
            // Answered beside them (how fast is measured outside the test suite, on a release build: see the README).
            let started = ContinuousClock.now
            let health = try await server.request(.get, "/health")
            #expect(health.status == .ok)
            #expect(ContinuousClock.now - started < .seconds(30))
            for connection in hanging { connection.close() }
        }
    }

    @Test func refusedWebSocketsSayWhy() async throws {
        try await LiveServer.run { server in
            let tech = try await server.signedIn(.n1)
            func upgrade(_ path: String, headers: [String]) async throws -> Int? {
                let connection = try RawConnection(port: server.port)
                try await connection.send(
                    "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(server.port)\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" + headers.map { $0 + "\r\n" }.joined() + "\r\n"
                )
                let status = await connection.statusCode()
                connection.close()
                return status
            }
            #expect(try await upgrade("/api/ws", headers: []) == 401)
            #expect(try await upgrade("/api/ws", headers: ["Authorization: Bearer not-a-token"]) == 401)
            #expect(try await upgrade("/api/ws", headers: ["Authorization: Bearer \(tech.token)", "Origin: https://evil.example"]) == 403)
            #expect(try await upgrade("/api/supervision/ws", headers: ["Authorization: Bearer \(tech.token)"]) == 403)
            #expect(try await upgrade("/api/ws", headers: ["Authorization: Bearer \(tech.token)"]) == 101)
        }
    }
}
