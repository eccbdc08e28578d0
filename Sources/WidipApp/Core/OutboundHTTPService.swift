import AsyncHTTPClient
import ServiceLifecycle

/// Owns the outbound HTTP client and the MCP session: both are closed when the server stops.
struct OutboundHTTPService: Service {
    let httpClient: HTTPClient
    let mcp: MCPConnection?

    func run() async throws {
        try? await gracefulShutdown()
        await mcp?.close()
        try await httpClient.shutdown()
    }
}
