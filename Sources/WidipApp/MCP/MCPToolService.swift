import CoreMetrics
import Foundation
import Logging
import MCP
import PostgresNIO

/// A tool as the tools page and the assistant see it: what the server offers, with WIDIP's level and words.
public struct ToolDescription: Sendable {
    public let name: String
    public let level: ToolLevel
    public let label: String
    public let description: String
    /// In WIDIP's catalogue; an unknown tool is treated as L4.
    public let catalogued: Bool
    /// Offered by the server right now.
    public let offered: Bool
    public let readOnlyHint: Bool?
    public let destructiveHint: Bool?
    public let inputSchema: JSONValue?
}

/// The MCP server as last seen.
public struct MCPServerState: Sendable {
    public let endpoint: String?
    public let reachable: Bool
    public let latency: Duration?
    public let problem: String?
}

/// The one way the platform runs MCP tools, for every caller (the assistant, SAFEGUARD's executions, the tools page):
/// checks the tool's level against the caller or an approval, calls the server, counts and audits.
public struct MCPToolService: Sendable {
    let connection: MCPConnection?
    public let catalogue: ToolCatalogue
    let approvals: any ApprovalLedger
    let calls: ToolCallRepository
    let audit: AuditRepository
    let metrics: any MetricsFactory
    let logger: Logger

    init(
        connection: MCPConnection?, catalogue: ToolCatalogue, approvals: any ApprovalLedger, calls: ToolCallRepository, audit: AuditRepository,
        metrics: any MetricsFactory, logger: Logger
    ) {
        self.connection = connection
        self.catalogue = catalogue
        self.approvals = approvals
        self.calls = calls
        self.audit = audit
        self.metrics = metrics
        self.logger = logger
    }

    public func call(_ request: ToolCallRequest) async throws -> ToolCallResult {
        guard !request.tool.isEmpty, request.tool.count <= 200 else { throw AppError.invalidField("tool", "Nom d'outil invalide.") }
        let level = catalogue.level(of: request.tool)
        let arguments = JSONValue.object(request.arguments)

        // A caller that has already given up must not use up an approval nor start an action.
        try Task.checkCancellation()
        var approval: ConsumedApproval?
        if level.needsApproval || level > request.caller.maxLevelWithoutApproval {
            guard let approvalID = request.approvalID else {
                let refusal = level.needsApproval ? AppError.approvalRequired(tool: request.tool, level: level) : levelRefusal(request, level)
                await recordRefusal(request, level: level, refusal)
                throw refusal
            }
            do {
                approval = try await approvals.consume(approvalID: approvalID, tool: request.tool, arguments: arguments, caller: request.caller)
            } catch let refusal as AppError {
                await recordRefusal(request, level: level, refusal)
                throw refusal
            }
        }
        guard let connection, !Task.isCancelled else {
            if let approval { try? await approvals.release(approval) }
            try Task.checkCancellation()
            throw Self.notConfigured
        }

        let clock = ContinuousClock()
        let start = clock.now
        let meta = approval.map { Metadata(additionalFields: [Self.approvalMetaKey: .string($0.id)]) }
        let outcome: ToolCallOutcome
        let result: Result<ToolCallResult, AppError>
        do {
            let reply = try await connection.callTool(
                request.tool, arguments: request.arguments.mapValues(\.mcpValue), meta: meta, readOnly: !level.needsApproval
            )
            let answer = ToolCallResult(
                tool: request.tool, level: level, isError: reply.isError ?? false, text: Self.text(of: reply.content),
                structured: reply.structuredContent.map(JSONValue.init), duration: clock.now - start
            )
            outcome = answer.isError ? .toolError : .success
            result = .success(answer)
            if let approval { await approvals.complete(approval, .finished(answer)) }
        } catch .cancelled {
            // The caller's task is cancelled, and so would be our queries: the records are written from a task of their own.
            let duration = clock.now - start
            Task {
                if let approval { await approvals.complete(approval, .abandoned) }
                await finish(request, level: level, approval: approval, outcome: .cancelled, duration: duration, error: nil)
            }
            throw CancellationError()
        } catch {
            let failure = mapped(error, tool: request.tool)
            if let approval {
                if error.certainlyNotRun { try? await approvals.release(approval) } else { await approvals.complete(approval, .failed(failure)) }
            }
            outcome = Self.outcome(of: error)
            result = .failure(failure)
        }
        let failure: AppError? = if case .failure(let error) = result { error } else { nil }
        await finish(request, level: level, approval: approval, outcome: outcome, duration: clock.now - start, error: failure)
        return try result.get()
    }

    /// Where the approval id travels to the server, so an approved action retried after a lost reply runs once.
    public static let approvalMetaKey = "fr.widip/approval_id"

    /// The server's tools merged with the catalogue. Throws when the server cannot be asked.
    public func tools(refresh: Bool = false) async throws -> [ToolDescription] {
        guard let connection else { throw Self.notConfigured }
        let offered: [MCP.Tool]
        do {
            offered = try await connection.listTools(refresh: refresh)
        } catch {
            throw mapped(error, tool: nil)
        }
        var descriptions = offered.map { tool in
            let entry = catalogue.entry(tool.name)
            return ToolDescription(
                name: tool.name, level: catalogue.level(of: tool.name), label: entry?.label ?? tool.title ?? tool.annotations.title ?? tool.name,
                description: entry?.description ?? tool.description ?? "", catalogued: entry != nil, offered: true,
                readOnlyHint: tool.annotations.readOnlyHint, destructiveHint: tool.annotations.destructiveHint, inputSchema: JSONValue(tool.inputSchema)
            )
        }
        let offeredNames = Set(offered.map(\.name))
        for entry in catalogue.entries.values where !offeredNames.contains(entry.name) {
            descriptions.append(
                ToolDescription(
                    name: entry.name, level: entry.level, label: entry.label, description: entry.description, catalogued: true, offered: false,
                    readOnlyHint: nil, destructiveHint: nil, inputSchema: nil
                )
            )
        }
        return descriptions.sorted { ($0.level, $0.name) < ($1.level, $1.name) }
    }

    public func serverState() async -> MCPServerState {
        guard let connection else { return MCPServerState(endpoint: nil, reachable: false, latency: nil, problem: "Aucun serveur MCP configuré (MCP_SERVER_URL).") }
        do {
            let latency = try await connection.ping()
            return MCPServerState(endpoint: connection.settings.endpoint, reachable: true, latency: latency, problem: nil)
        } catch {
            return MCPServerState(endpoint: connection.settings.endpoint, reachable: false, latency: nil, problem: mapped(error, tool: nil).message)
        }
    }

    public func stats(since: Date) async throws -> [String: ToolCallStats] {
        try await calls.stats(since: since)
    }

    // MARK: Counting and auditing

    private func finish(_ request: ToolCallRequest, level: ToolLevel, approval: ConsumedApproval?, outcome: ToolCallOutcome, duration: Duration, error: AppError?) async {
        Counter(label: "widip_mcp_tool_calls_total", dimensions: [("tool", request.tool), ("outcome", outcome.rawValue)], factory: metrics).increment()
        Timer(label: "widip_mcp_tool_call_duration_seconds", dimensions: [("tool", request.tool)], factory: metrics).record(duration: duration)
        do {
            try await calls.record(tool: request.tool, level: level, caller: request.caller, outcome: outcome, duration: duration)
            if level.isAudited {
                var details = auditDetails(request, level: level, outcome: outcome)
                details["duration_ms"] = .number(duration.milliseconds.rounded())
                if let approval {
                    details["approval_id"] = .string(approval.id)
                    details["approved_by"] = approval.approvedBy.map(JSONValue.string) ?? .null
                }
                if let error { details["error"] = .string(error.code) }
                try await audit.record(
                    AuditEntry(userID: request.caller.userID, action: "mcp.tool_call", targetType: "mcp_tool", targetID: request.tool, details: .object(details), client: request.client)
                )
            }
        } catch {
            // The call has happened; losing its record must not hide its result from the caller.
            logger.error("MCP call could not be recorded", metadata: ["tool": "\(request.tool)", "error": "\(String(reflecting: error))"])
        }
    }

    /// A refusal is counted and kept (a caller asking beyond its rights is worth seeing), apart from the success
    /// rate, which is the server's; from L2 it is audited.
    private func recordRefusal(_ request: ToolCallRequest, level: ToolLevel, _ refusal: AppError) async {
        Counter(label: "widip_mcp_tool_calls_total", dimensions: [("tool", request.tool), ("outcome", "refused")], factory: metrics).increment()
        do {
            try await calls.record(tool: request.tool, level: level, caller: request.caller, outcome: .refused, duration: .zero)
        } catch {
            logger.error("MCP refusal could not be counted", metadata: ["tool": "\(request.tool)", "error": "\(String(reflecting: error))"])
        }
        guard level.isAudited else { return }
        var details = auditDetails(request, level: level, outcome: .refused)
        details["error"] = .string(refusal.code)
        if let approvalID = request.approvalID { details["approval_id"] = .string(approvalID) }
        do {
            try await audit.record(
                AuditEntry(userID: request.caller.userID, action: "mcp.tool_call_refused", targetType: "mcp_tool", targetID: request.tool, details: .object(details), client: request.client)
            )
        } catch {
            logger.error("MCP refusal could not be audited", metadata: ["tool": "\(request.tool)", "error": "\(String(reflecting: error))"])
        }
    }

    private func auditDetails(_ request: ToolCallRequest, level: ToolLevel, outcome: ToolCallOutcome) -> [String: JSONValue] {
        [
            "tool": .string(request.tool), "level": .string(level.label), "caller": .string(request.caller.name),
            "arguments": JSONValue.object(request.arguments).maskingSecrets, "reason": .string(String(request.reason.prefix(1000))),
            "outcome": .string(outcome.rawValue),
        ]
    }

    // MARK: Errors

    private func levelRefusal(_ request: ToolCallRequest, _ level: ToolLevel) -> AppError {
        let allowed = request.caller.maxLevelWithoutApproval
        let who: String = if case .user(_, _, let accreditation) = request.caller { "votre niveau \(accreditation.rawValue)" } else { "ce workflow" }
        return AppError(
            .forbidden, code: "tool_level_forbidden",
            "L'outil « \(request.tool) » est de niveau \(level.label) : \(who) permet les outils jusqu'à \(allowed.label) sans approbation."
        )
    }

    static let notConfigured = AppError(.unavailable, code: "mcp_not_configured", "Aucun serveur MCP n'est configuré (MCP_SERVER_URL).")

    /// `tool` is nil for the server's own requests (tool list, ping).
    private func mapped(_ failure: MCPCallFailure, tool: String?) -> AppError {
        let what = tool.map { "l'appel de « \($0) »" } ?? "la requête"
        switch failure {
        case .unreachable(let reason):
            return AppError(.unavailable, code: "mcp_unreachable", "Le serveur MCP est injoignable (\(reason)) : vérifiez qu'il tourne et MCP_SERVER_URL.")
        case .connectionLost(let reason):
            let advice = tool == nil ? "réessayez dans un instant." : "vérifiez son résultat avant de le relancer."
            return AppError(.badGateway, code: "mcp_connection_lost", "La connexion au serveur MCP a été coupée pendant \(what) (\(reason)) : \(advice)")
        case .timeout(let limit):
            let subject = tool.map { "L'outil « \($0) »" } ?? "Le serveur MCP"
            return AppError(.gatewayTimeout, code: "mcp_timeout", "\(subject) n'a pas répondu en \(limit.frenchSeconds) : la requête a été annulée.")
        case .unauthorized:
            return AppError(.badGateway, code: "mcp_unauthorized", "Le serveur MCP refuse notre clé d'API : vérifiez MCP_API_KEY.")
        case .protocolError(let code, let message) where [-32601, -32602].contains(code):
            // Unknown tool or invalid arguments: the caller can correct the request.
            return AppError(.badRequest, code: "mcp_call_rejected", "Le serveur MCP a refusé \(what) : \(String(message.prefix(300)))")
        case .protocolError(let code, let message):
            logger.warning("MCP server error", metadata: ["code": "\(code)", "message": "\(message.prefix(300))"])
            return AppError(.badGateway, code: "mcp_server_error", "Le serveur MCP a échoué sur \(what) (erreur \(code)) : \(String(message.prefix(300)))")
        case .badReply(let reason):
            logger.warning("Unreadable MCP reply", metadata: ["reason": "\(reason)"])
            return AppError(.badGateway, code: "mcp_bad_reply", "Le serveur MCP a renvoyé une réponse inattendue (\(String(reason.prefix(200)))).")
        case .cancelled:
            return AppError(.unavailable, code: "mcp_cancelled", "L'appel MCP a été annulé.")
        }
    }

    private static func outcome(of failure: MCPCallFailure) -> ToolCallOutcome {
        switch failure {
        case .unreachable, .unauthorized, .connectionLost: .unreachable
        case .timeout: .timeout
        case .protocolError, .badReply: .protocolError
        case .cancelled: .cancelled
        }
    }

    private static func text(of content: [MCP.Tool.Content]) -> String {
        content.map { item in
            switch item {
            case .text(let text, _, _): text
            case .image(_, let mimeType, _, _): "[image \(mimeType)]"
            case .audio(_, let mimeType, _, _): "[audio \(mimeType)]"
            case .resource(let resource, _, _): "[ressource \(resource.uri)]"
            case .resourceLink(let uri, _, _, _, _, _): "[lien \(uri)]"
            }
        }.joined(separator: "\n")
    }
}
