import Foundation
import Logging
import PostgresNIO

/// Reachability of what the product depends on.
public struct HealthService: Sendable {
    public struct Component: Encodable, Sendable, Equatable {
        public let name: String
        public let status: String
        public let latencyMs: Double?
        public let detail: String

        enum CodingKeys: String, CodingKey {
            case name, status, detail
            case latencyMs = "latency_ms"
        }
    }

    let client: PostgresClient
    let config: AppConfig
    let mcp: MCPToolService
    let logger: Logger

    public init(client: PostgresClient, config: AppConfig, mcp: MCPToolService, logger: Logger) {
        self.client = client
        self.config = config
        self.mcp = mcp
        self.logger = logger
    }

    public func database() async -> Component {
        let start = ContinuousClock.now
        do {
            let version = try await withTimeout(.seconds(2)) {
                var applied = 0
                for try await version in try await client.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", logger: logger).decode(Int.self) {
                    applied = version
                }
                return applied
            }
            return Component(name: "database", status: "ok", latencyMs: Self.milliseconds(since: start), detail: "PostgreSQL joignable, schéma v\(version)")
        } catch {
            return Component(name: "database", status: "down", latencyMs: nil, detail: "PostgreSQL injoignable")
        }
    }

    public func mcpServer() async -> Component {
        guard let url = config.mcpServerURL else {
            return Component(name: "mcp", status: "not_configured", latencyMs: nil, detail: "MCP_SERVER_URL non défini")
        }
        let state = await mcp.serverState()
        let latency = state.latency.map { $0.milliseconds.rounded(toPlaces: 2) }
        return Component(
            name: "mcp", status: state.reachable ? "ok" : "down", latencyMs: latency,
            detail: state.reachable ? "Serveur MCP joignable : \(Self.origin(url))" : "Serveur MCP injoignable : \(Self.origin(url))"
        )
    }

    /// Every dependency, for the authenticated detailed view. The LLM is reported as configured or not until the
    /// assistant's module probes it.
    public func components() async -> [Component] {
        [
            await database(),
            await mcpServer(),
            Component(
                name: "llm", status: config.ollamaBaseURL == nil && config.mistralAPIKey == nil ? "not_configured" : "configured", latencyMs: nil,
                detail: config.ollamaBaseURL.map { "Ollama : \(Self.origin($0))" } ?? (config.mistralAPIKey != nil ? "Mistral (clé fournie)" : "Aucun fournisseur LLM configuré")
            ),
        ]
    }

    /// Scheme, host and port only: a URL may carry credentials, and every signed-in user can read this view.
    static func origin(_ url: String) -> String {
        guard let components = URLComponents(string: url), let scheme = components.scheme, let host = components.host else { return "(adresse invalide)" }
        return components.port.map { "\(scheme)://\(host):\($0)" } ?? "\(scheme)://\(host)"
    }

    static func milliseconds(since start: ContinuousClock.Instant) -> Double {
        (ContinuousClock.now - start).milliseconds.rounded(toPlaces: 2)
    }
}
