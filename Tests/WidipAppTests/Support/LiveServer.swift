import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import PostgresNIO
import WidipApp

/// A test configuration: fast bcrypt, a random secret, any free port.
func testConfig(database: DatabaseURL, adjust: (inout AppConfig) -> Void = { _ in }) -> AppConfig {
    var config = AppConfig(
        port: 0, host: "127.0.0.1", jwtSecret: "test-secret-" + UUID().uuidString + UUID().uuidString, databaseURL: database,
        rateLimitPerMinute: 1000, bcryptCost: 4, databasePoolSize: 4,
        // A loaded test machine can take longer than a real client between connecting and sending; the tests of
        // these limits set their own.
        connectionTimeouts: ConnectionTimeouts(requestHead: .seconds(120), idle: .seconds(300)),
        // The health monitor probes the model and MCP peers, which tests count; its own tests run it on purpose.
        supervision: SupervisionSettings(healthCheckInterval: nil)
    )
    adjust(&config)
    return config
}

/// A live server on a fresh database, reached over a real socket, plus the services to set up data directly.
struct LiveServer: Sendable {
    let client: any TestClientProtocol
    let port: Int
    let services: AppServices
    let config: AppConfig

    static func run<Value: Sendable>(
        adjust: @escaping (inout AppConfig) -> Void = { _ in },
        _ body: @escaping @Sendable (LiveServer) async throws -> Value
    ) async throws -> Value {
        try await TestDatabase.withFreshDatabase { database in
            try await run(on: database, adjust: adjust, body)
        }
    }

    /// The same, on a given database (a private cluster's).
    static func run<Value: Sendable>(
        on database: DatabaseURL, adjust: @escaping (inout AppConfig) -> Void = { _ in },
        _ body: @escaping @Sendable (LiveServer) async throws -> Value
    ) async throws -> Value {
        let config = testConfig(database: database, adjust: adjust)
        var logger = Logger(label: "widip-test")
        logger.logLevel = .warning
        // One set of services: the server's own (one pool, one metrics registry, one MCP session), which the test
        // also uses to set up data.
        let services = try await AppServices(config: config, logger: logger)
        let app = try await buildApplication(services: services)
        return try await app.test(.live) { client in
            guard let port = client.port else { throw TestSetupError("live server has no port") }
            return try await body(LiveServer(client: client, port: port, services: services, config: config))
        }
    }

    // MARK: - Data set-up through the services (not over HTTP)

    @discardableResult
    func createUser(_ username: String, level: AccreditationLevel, password: String = "motdepasse-solide", role: String = "tech", active: Bool = true) async throws -> User {
        try await services.users.create(
            NewUser(username: username, password: password, role: role, level: level, active: active), actorID: nil, client: .commandLine
        )
    }

    /// The `password` column of a user as stored (a bcrypt hash, or a Phase 1 plaintext).
    func storedPassword(of username: String) async throws -> String {
        var stored = ""
        for try await password in try await services.postgres.query("SELECT password FROM users WHERE username = \(username)", logger: TestDatabase.logger)
            .decode(String.self)
        { stored = password }
        return stored
    }

    /// Logs in over HTTP and returns the bearer token.
    func token(_ username: String, password: String = "motdepasse-solide") async throws -> String {
        let response = try await request(.post, "/api/auth/login", json: ["username": username, "password": password])
        guard response.status == .ok, let token = response.json["access_token"] as? String else {
            throw TestSetupError("login of \(username) failed: \(response.status) \(response.text)")
        }
        return token
    }

    /// A signed-in user of the given level and its token.
    func signedIn(_ level: AccreditationLevel, name: String? = nil) async throws -> (user: User, token: String) {
        let username = name ?? "user-\(level.rawValue.lowercased())-\(UUID().uuidString.prefix(6).lowercased())"
        let user = try await createUser(username, level: level)
        return (user, try await token(username))
    }

    // MARK: - HTTP

    func request(
        _ method: HTTPRequest.Method, _ path: String, json: Any? = nil, body: String? = nil, token: String? = nil, headers: HTTPFields = [:]
    ) async throws -> HTTPResult {
        try await Self.send(through: client, method, path, json: json, body: body, token: token, headers: headers)
    }

    /// A request as a browser sends it, with a `Host` (`authority`) naming this server.
    func browserRequest(_ method: HTTPRequest.Method, _ path: String, body: String? = nil, headers: HTTPFields = [:]) async throws -> HTTPResult {
        let authority = "127.0.0.1:\(port)"
        return try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
            let (headers, buffer) = try Self.prepare(json: nil, body: body, token: nil, headers: headers)
            let response = try await client.execute(.init(path, method: method, authority: authority, headers: headers, body: buffer))
            return HTTPResult(status: response.status, headers: response.headers, body: response.body ?? ByteBuffer())
        }
    }

    static func send(
        through client: any TestClientProtocol, _ method: HTTPRequest.Method, _ path: String, json: Any? = nil, body: String? = nil, token: String? = nil,
        headers: HTTPFields = [:]
    ) async throws -> HTTPResult {
        let (headers, buffer) = try prepare(json: json, body: body, token: token, headers: headers)
        let response = try await client.execute(uri: path, method: method, headers: headers, body: buffer) { $0 }
        return HTTPResult(status: response.status, headers: response.headers, body: response.body)
    }

    /// The same, through a plain client connected to any port (a second server, concurrent connections).
    static func send(
        through client: TestClient, _ method: HTTPRequest.Method, _ path: String, json: Any? = nil, body: String? = nil, token: String? = nil,
        headers: HTTPFields = [:]
    ) async throws -> HTTPResult {
        let (headers, buffer) = try prepare(json: json, body: body, token: token, headers: headers)
        let response = try await client.execute(.init(path, method: method, headers: headers, body: buffer))
        return HTTPResult(status: response.status, headers: response.headers, body: response.body ?? ByteBuffer())
    }

    private static func prepare(json: Any?, body: String?, token: String?, headers: HTTPFields) throws -> (HTTPFields, ByteBuffer?) {
        var headers = headers
        var buffer: ByteBuffer?
        if let json {
            buffer = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json))
            if headers[.contentType] == nil { headers[.contentType] = "application/json" }
        } else if let body {
            buffer = ByteBuffer(string: body)
        }
        if let token { headers[.authorization] = "Bearer \(token)" }
        return (headers, buffer)
    }
}

struct HTTPResult: Sendable {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let body: ByteBuffer

    var text: String { String(buffer: body) }
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] ?? [:] }
    var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
    var errorField: String? { (json["error"] as? [String: Any])?["field"] as? String }

    /// The session cookie set by a login, if any.
    var sessionCookie: String? {
        headers[values: .setCookie].first { $0.hasPrefix("widip_session=") }
    }
}

extension HTTPFields {
    init(_ pairs: [(String, String)]) {
        self.init()
        for (name, value) in pairs { self[HTTPField.Name(name)!] = value }
    }
}
