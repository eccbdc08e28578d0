import Foundation
import Hummingbird

/// `/api/mcp/...`: the tools the server offers with WIDIP's levels, the server's state, and calls. HTTP only; the
/// rules (levels, approvals, audit) live in `MCPToolService`.
struct MCPController {
    /// A call's own level is checked against the tool's level by `MCPToolService`.
    static let accessRules = [
        RouteRule(.get, "/api/mcp/tools", .level(.n1)),
        RouteRule(.get, "/api/mcp/status", .level(.n3)),
        RouteRule(.post, "/api/mcp/tools/{name}/call", .level(.n0)),
    ]

    let mcp: MCPToolService

    /// MCP's tool names (specification 2025-06-18): 1 to 128 characters of A–Z, a–z, 0–9, "_", "-" and ".".
    static func isToolName(_ name: String) -> Bool {
        (1...128).contains(name.utf8.count) && name.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
        }
    }

    struct ToolOutput: Encodable, Sendable {
        let name: String
        let level: ToolLevel
        let label: String
        let description: String
        let catalogued: Bool
        let offered: Bool
        let requiresApproval: Bool
        let readOnlyHint: Bool?
        let destructiveHint: Bool?
        let inputSchema: JSONValue?

        init(_ tool: ToolDescription) {
            name = tool.name
            level = tool.level
            label = tool.label
            description = tool.description
            catalogued = tool.catalogued
            offered = tool.offered
            requiresApproval = tool.level.needsApproval
            readOnlyHint = tool.readOnlyHint
            destructiveHint = tool.destructiveHint
            inputSchema = tool.inputSchema
        }

        enum CodingKeys: String, CodingKey {
            case name, level, label, description, catalogued, offered
            case requiresApproval = "requires_approval"
            case readOnlyHint = "read_only_hint"
            case destructiveHint = "destructive_hint"
            case inputSchema = "input_schema"
        }
    }

    struct ToolListOutput: Encodable, Sendable {
        let tools: [ToolOutput]
    }

    struct StatusOutput: Encodable, Sendable {
        struct Server: Encodable, Sendable {
            let configured: Bool
            let reachable: Bool
            let latencyMs: Double?
            let problem: String?

            enum CodingKeys: String, CodingKey {
                case configured, reachable, problem
                case latencyMs = "latency_ms"
            }
        }

        struct ToolStats: Encodable, Sendable {
            let tool: String
            let calls: Int
            let successes: Int
            let toolErrors: Int
            let failures: Int
            let refused: Int
            let successRate: Double?

            enum CodingKeys: String, CodingKey {
                case tool, calls, successes, failures, refused
                case toolErrors = "tool_errors"
                case successRate = "success_rate"
            }
        }

        let server: Server
        let windowHours: Int
        let calls: [ToolStats]

        enum CodingKeys: String, CodingKey {
            case server, calls
            case windowHours = "window_hours"
        }
    }

    struct CallInput: Decodable {
        let arguments: [String: JSONValue]?
        let reason: String
        let approvalID: String?

        enum CodingKeys: String, CodingKey {
            case arguments, reason
            case approvalID = "approval_id"
        }
    }

    struct CallOutput: Encodable, Sendable {
        let tool: String
        let level: ToolLevel
        let isError: Bool
        let text: String
        let structured: JSONValue?
        let durationMs: Double

        enum CodingKeys: String, CodingKey {
            case tool, level, text, structured
            case isError = "is_error"
            case durationMs = "duration_ms"
        }
    }

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.get("/api/mcp/tools") { request, _ in
            let refresh: Bool
            switch request.formQuery["refresh"] {
            case nil, "false": refresh = false
            case "true": refresh = true
            default: throw AppError.invalidField("refresh", "« refresh » vaut true ou false.")
            }
            return JSONBody(ToolListOutput(tools: try await mcp.tools(refresh: refresh).map(ToolOutput.init)))
        }
        group.get("/api/mcp/status") { _, _ in
            async let state = mcp.serverState()
            let stats = try await mcp.stats(since: Date().addingTimeInterval(-24 * 3600))
            let server = await state
            return JSONBody(
                StatusOutput(
                    server: .init(
                        configured: server.endpoint != nil, reachable: server.reachable, latencyMs: server.latency.map { $0.milliseconds.rounded(toPlaces: 2) },
                        problem: server.problem
                    ),
                    windowHours: 24,
                    calls: stats.sorted { $0.key < $1.key }.map { tool, stats in
                        .init(
                            tool: tool, calls: stats.calls, successes: stats.successes, toolErrors: stats.toolErrors, failures: stats.failures,
                            refused: stats.refused, successRate: stats.successRate
                        )
                    }
                )
            )
        }
        group.post("/api/mcp/tools/{name}/call") { request, context in
            // The router hands the path segment as sent: "glpi%5Fsearch_client" names glpi_search_client.
            guard let name = context.parameters.get("name")?.removingPercentEncoding, Self.isToolName(name) else {
                throw AppError.invalidField("name", "Nom d'outil invalide : 1 à 128 lettres sans accent, chiffres, « _ », « - » ou « . ».")
            }
            let input = try await request.decodeJSON(CallInput.self, context: context)
            let reason = input.reason.trimmingCharacters(in: .whitespacesAndNewlines)
            guard (3...1000).contains(reason.count) else {
                throw AppError.invalidField("reason", "Indiquez pourquoi l'outil est appelé (3 à 1000 caractères).")
            }
            if let approvalID = input.approvalID, approvalID.isEmpty || approvalID.count > 100 {
                throw AppError.invalidField("approval_id", "Identifiant d'approbation invalide.")
            }
            let result = try await mcp.call(
                ToolCallRequest(
                    tool: name, arguments: input.arguments ?? [:], caller: ToolCaller(context.user), reason: reason, approvalID: input.approvalID,
                    client: context.client(of: request)
                )
            )
            return JSONBody(
                CallOutput(
                    tool: result.tool, level: result.level, isError: result.isError, text: result.text, structured: result.structured,
                    durationMs: result.duration.milliseconds.rounded(toPlaces: 2)
                )
            )
        }
    }
}
