import Foundation
import Hummingbird
import Prometheus

/// `/api/mcp/...`: the tools the server offers with WIDIP's levels, the server's state, and calls. HTTP only; the
/// rules (levels, approvals, audit) live in `MCPToolService`.
struct MCPController {
    let mcp: MCPToolService

    struct ToolDTO: Encodable, Sendable {
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

    struct ToolList: Encodable, Sendable {
        let tools: [ToolDTO]
    }

    struct StatusDTO: Encodable, Sendable {
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
            let successRate: Double?

            enum CodingKeys: String, CodingKey {
                case tool, calls, successes, failures
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

    struct CallDTO: Encodable, Sendable {
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
            switch request.uri.queryParameters["refresh"].map(String.init) {
            case nil, "false": refresh = false
            case "true": refresh = true
            default: throw AppError.invalidField("refresh", "« refresh » vaut true ou false.")
            }
            return JSONBody(ToolList(tools: try await mcp.tools(refresh: refresh).map(ToolDTO.init)))
        }
        group.get("/api/mcp/status") { _, _ in
            async let state = mcp.serverState()
            let stats = try await mcp.stats(since: Date().addingTimeInterval(-24 * 3600))
            let server = await state
            return JSONBody(
                StatusDTO(
                    server: .init(
                        configured: server.endpoint != nil, reachable: server.reachable, latencyMs: server.latency.map(\.milliseconds),
                        problem: server.problem
                    ),
                    windowHours: 24,
                    calls: stats.sorted { $0.key < $1.key }.map { tool, stats in
                        .init(
                            tool: tool, calls: stats.calls, successes: stats.successes, toolErrors: stats.toolErrors, failures: stats.failures,
                            successRate: stats.successRate
                        )
                    }
                )
            )
        }
        group.post("/api/mcp/tools/{name}/call") { request, context in
            guard let name = context.parameters.get("name"), !name.isEmpty, name.count <= 200 else {
                throw AppError(.notFound, "Outil introuvable.")
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
                CallDTO(
                    tool: result.tool, level: result.level, isError: result.isError, text: result.text, structured: result.structured,
                    durationMs: result.duration.milliseconds
                )
            )
        }
    }
}

/// `/metrics` in Prometheus' text format, for a scraper holding `METRICS_TOKEN`. Without the setting it is not served.
struct MetricsController {
    let registry: PrometheusCollectorRegistry
    let token: String?

    func addRoutes(to router: RouterGroup<AppRequestContext>) {
        // Plain-text answers: the client is a scraper, not a person, and must not be sent to the login page.
        router.get("/metrics") { request, _ in
            guard let token else { return Self.plain(.notFound, "Métriques non publiées : METRICS_TOKEN n'est pas défini.\n") }
            let presented = request.headers[.authorization].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil } ?? ""
            guard Self.constantTimeEqual(presented, token) else {
                var response = Self.plain(.unauthorized, "Jeton de métriques absent ou invalide.\n")
                response.headers[.wwwAuthenticate] = "Bearer"
                return response
            }
            var buffer: [UInt8] = []
            registry.emit(into: &buffer)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(bytes: buffer))
            )
        }
    }

    private static func plain(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    private static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let a = Array(a.utf8), b = Array(b.utf8)
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

extension Duration {
    var milliseconds: Double {
        ((Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15) * 100).rounded() / 100
    }
}
