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
    let llm: LLMProviders
    let logger: Logger

    public init(client: PostgresClient, config: AppConfig, mcp: MCPToolService, llm: LLMProviders, logger: Logger) {
        self.client = client
        self.config = config
        self.mcp = mcp
        self.llm = llm
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

    /// Every dependency, for the authenticated detailed view: one line per configured LLM provider.
    public func components() async -> [Component] {
        [await database(), await mcpServer()] + (await languageModels())
    }

    public func languageModels() async -> [Component] {
        guard llm.isConfigured else {
            return [
                Component(
                    name: "llm", status: "not_configured", latencyMs: nil,
                    detail: "Aucun fournisseur LLM configuré (OLLAMA_BASE_URL, MISTRAL_API_KEY ou OPENAI_BASE_URL)"
                )
            ]
        }
        return await llm.probeAll().map { provider, answers, latency in
            let what = provider.label.atSentenceStart
            return Component(
                name: "llm:\(provider.name)", status: answers ? "ok" : "down", latencyMs: answers ? latency.milliseconds.rounded(toPlaces: 2) : nil,
                detail: answers ? "\(what) répond" : "\(what) ne répond pas"
            )
        }
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
