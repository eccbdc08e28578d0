import Foundation
import Logging
import PostgresNIO

/// A parsed `postgresql://user:password@host:port/database?sslmode=…` address.
public struct DatabaseURL: Sendable, Equatable {
    public enum TLSMode: String, Sendable { case disable, prefer, require }

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var tlsMode: TLSMode

    public struct ParseError: Error { public let reason: String }

    public init(host: String, port: Int = 5432, username: String, password: String?, database: String, tlsMode: TLSMode = .disable) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.tlsMode = tlsMode
    }

    public init(parsing text: String) throws {
        guard let components = URLComponents(string: text), let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme) else {
            throw ParseError(reason: "doit commencer par postgresql:// (par exemple postgresql://widip:secret@localhost:5432/widip)")
        }
        guard let host = components.host, !host.isEmpty else { throw ParseError(reason: "l'hôte manque") }
        guard let user = components.user, !user.isEmpty else { throw ParseError(reason: "l'utilisateur manque") }
        let name = String(components.path.drop(while: { $0 == "/" }))
        guard !name.isEmpty else { throw ParseError(reason: "le nom de la base manque") }
        var mode = TLSMode.prefer
        if let sslmode = components.queryItems?.first(where: { $0.name == "sslmode" })?.value {
            switch sslmode {
            case "disable": mode = .disable
            case "allow", "prefer": mode = .prefer
            case "require", "verify-ca", "verify-full": mode = .require
            default: throw ParseError(reason: "sslmode « \(sslmode) » inconnu")
            }
        }
        // Loopback servers (the embedded default) speak plain TCP; asking them for TLS first only costs a round trip.
        if components.queryItems?.contains(where: { $0.name == "sslmode" }) != true, ["localhost", "127.0.0.1", "::1"].contains(host) {
            mode = .disable
        }
        self.init(
            host: host,
            port: components.port ?? 5432,
            username: user.removingPercentEncoding ?? user,
            password: components.password.map { $0.removingPercentEncoding ?? $0 },
            database: name.removingPercentEncoding ?? name,
            tlsMode: mode
        )
    }

    /// The same server, another database (tests give each case its own).
    public func with(database: String) -> DatabaseURL {
        var copy = self
        copy.database = database
        return copy
    }

    func clientConfiguration(poolSize: Int) -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS =
            switch tlsMode {
            case .disable: .disable
            case .prefer: .prefer(.makeClientConfiguration())
            case .require: .require(.makeClientConfiguration())
            }
        var configuration = PostgresClient.Configuration(host: host, port: port, username: username, password: password, database: database, tls: tls)
        configuration.options.maximumConnections = poolSize
        // Timestamps without a zone (the PRD's audit table, Phase 1 tables) are read and written as UTC.
        configuration.options.additionalStartupParameters = [("TimeZone", "UTC"), ("application_name", "widip")]
        return configuration
    }

    public func makeClient(poolSize: Int, logger: Logger) -> PostgresClient {
        PostgresClient(configuration: clientConfiguration(poolSize: poolSize), backgroundLogger: logger)
    }
}
