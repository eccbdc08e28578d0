import Foundation
import HTTPTypes
import Hummingbird

/// `/api/safeguard/...` (PRD 2.1): requests from workflows, the queue, decisions, history and figures. HTTP only;
/// the rules live in `SafeguardService`.
struct SafeguardController {
    /// PRD 3.4.1: N1 reads, N2 and above decide (L4 needs N3, checked by the service); a workflow token creates and
    /// reads its own requests, never decides.
    static let accessRules = [
        RouteRule(.post, "/api/safeguard/requests", .workflow),
        RouteRule(.get, "/api/safeguard/pending", .level(.n1)),
        RouteRule(.get, "/api/safeguard/history", .level(.n1)),
        RouteRule(.get, "/api/safeguard/stats", .level(.n1)),
        RouteRule(.get, "/api/safeguard/{id}", .levelOrWorkflow(.n1)),
        RouteRule(.post, "/api/safeguard/{id}/approve", .level(.n2)),
        RouteRule(.post, "/api/safeguard/{id}/reject", .level(.n2)),
        RouteRule(.post, "/api/safeguard/{id}/postpone", .level(.n2)),
        RouteRule(.post, "/api/safeguard/{id}/execute", .workflow),
    ]

    let safeguard: SafeguardService
    let mcp: MCPToolService
    let timeZone: TimeZone

    // MARK: Wire types

    struct CreateInput: Decodable {
        let approvalID: String?
        let toolName: String
        let arguments: [String: JSONValue]?
        let securityLevel: String?
        let context: [String: JSONValue]?
        let expiresAt: String?
        let idempotencyKey: String?
        let callbackURL: String?
        let executionMode: String?

        enum CodingKeys: String, CodingKey {
            case approvalID = "approval_id"
            case toolName = "tool_name"
            case arguments
            case securityLevel = "security_level"
            case context
            case expiresAt = "expires_at"
            case idempotencyKey = "idempotency_key"
            case callbackURL = "callback_url"
            case executionMode = "execution_mode"
        }
    }

    struct RejectInput: Decodable {
        let reason: String
    }

    struct RequestOutput: Encodable, Sendable {
        struct RequesterOutput: Encodable, Sendable {
            let type: String
            let name: String?
        }

        struct StepOutput: Encodable, Sendable {
            let step: String
            let label: String
            let actor: String?
            let reason: String?
            let details: JSONValue?
            let at: Date
        }

        let approvalID: String
        let toolName: String
        let arguments: JSONValue
        let securityLevel: String
        let context: JSONValue
        let status: String
        let requester: RequesterOutput
        let conversationID: String?
        let executionMode: String
        let approvalsRequired: Int
        let approvalsCount: Int
        let postponeCount: Int
        let createdAt: Date
        let expiresAt: Date
        let secondsLeft: Int?
        let urgency: String?
        let escalatedAt: Date?
        let decidedAt: Date?
        let decidedBy: String?
        let decisionReason: String?
        let executedAt: Date?
        let result: JSONValue?
        let error: String?
        let impactBefore: JSONValue?
        let impactAfter: JSONValue?
        let timeline: [StepOutput]?

        init(_ request: ApprovalRequest, timeline: [TimelineStep]? = nil, now: Date = Date()) {
            approvalID = request.approvalID
            toolName = request.toolName
            arguments = request.arguments.maskingSecrets
            securityLevel = request.securityLevel
            context = request.context
            status = request.status
            requester = RequesterOutput(type: request.requesterType, name: request.requesterName)
            conversationID = request.conversationID?.wire
            executionMode = request.executionMode
            approvalsRequired = request.approvalsRequired
            approvalsCount = request.approvalsCount
            postponeCount = request.postponeCount
            createdAt = request.createdAt
            expiresAt = request.expiresAt
            let pending = request.approvalStatus == .pending
            secondsLeft = pending ? max(0, Int(request.expiresAt.timeIntervalSince(now).rounded(.down))) : nil
            urgency = pending ? Urgency(secondsLeft: request.expiresAt.timeIntervalSince(now)).rawValue : nil
            escalatedAt = request.escalatedAt
            decidedAt = request.decidedAt
            decidedBy = request.decidedBy
            decisionReason = request.decisionReason
            executedAt = request.executedAt
            result = request.result
            error = request.error
            impactBefore = request.impactBefore
            impactAfter = request.impactAfter
            self.timeline = timeline?.map {
                StepOutput(step: $0.kind, label: TimelineLabels.label($0.kind), actor: $0.actorName, reason: $0.reason, details: $0.details, at: $0.at)
            }
        }

        enum CodingKeys: String, CodingKey {
            case approvalID = "approval_id"
            case toolName = "tool_name"
            case arguments
            case securityLevel = "security_level"
            case context, status, requester
            case conversationID = "conversation_id"
            case executionMode = "execution_mode"
            case approvalsRequired = "approvals_required"
            case approvalsCount = "approvals_count"
            case postponeCount = "postpone_count"
            case createdAt = "created_at"
            case expiresAt = "expires_at"
            case secondsLeft = "seconds_left"
            case urgency
            case escalatedAt = "escalated_at"
            case decidedAt = "decided_at"
            case decidedBy = "decided_by"
            case decisionReason = "decision_reason"
            case executedAt = "executed_at"
            case result, error
            case impactBefore = "impact_before"
            case impactAfter = "impact_after"
            case timeline
        }
    }

    struct ListOutput: Encodable, Sendable {
        let requests: [RequestOutput]
        let total: Int
    }

    struct StatsOutput: Encodable, Sendable {
        struct ToolCount: Encodable, Sendable {
            let tool: String
            let count: Int
        }
        struct DayCount: Encodable, Sendable {
            let day: String
            let count: Int
        }
        let days: Int
        let total: Int
        let approved: Int
        let rejected: Int
        let expired: Int
        let pending: Int
        let executed: Int
        let failed: Int
        let averageDecisionSeconds: Double?
        let topTools: [ToolCount]
        let perDay: [DayCount]

        enum CodingKeys: String, CodingKey {
            case days, total, approved, rejected, expired, pending, executed, failed
            case averageDecisionSeconds = "average_decision_seconds"
            case topTools = "top_tools"
            case perDay = "per_day"
        }
    }

    struct ExecutionOutput: Encodable, Sendable {
        let approvalID: String
        let isError: Bool
        let text: String
        let structured: JSONValue?

        enum CodingKeys: String, CodingKey {
            case approvalID = "approval_id"
            case isError = "is_error"
            case text, structured
        }
    }

    // MARK: Routes

    func addRoutes(workflows: RouterGroup<WorkflowContext>, users: RouterGroup<AuthenticatedContext>, either: RouterGroup<CallerContext>) {
        workflows.post("/api/safeguard/requests") { request, context in
            let input = try await request.decodeJSON(CreateInput.self, context: context)
            let new = try Self.newRequest(input, header: request.headers[Self.idempotencyHeader], workflow: context.workflow)
            let (stored, created) = try await safeguard.create(new, client: context.client(of: request))
            var response = try JSONBody(RequestOutput(stored), status: created ? .created : .ok).response(from: request, context: context)
            response.headers[.location] = "/api/safeguard/\(stored.approvalID)"
            return response
        }
        users.get("/api/safeguard/pending") { _, _ in
            let pending = try await safeguard.pending()
            return JSONBody(ListOutput(requests: pending.map { RequestOutput($0) }, total: pending.count))
        }
        users.get("/api/safeguard/history") { request, context in
            let query = request.formQuery
            var filter = try Self.filter(query, timeZone: timeZone)
            if query["format"] == "csv" {
                filter.offset = 0
                filter.limit = 10_000
                let rows = try await safeguard.history(filter).requests
                return try SafeguardCSV.document(rows, timeZone: timeZone).response(from: request, context: context)
            }
            let page = try await safeguard.history(filter)
            return try JSONBody(ListOutput(requests: page.requests.map { RequestOutput($0) }, total: page.total)).response(from: request, context: context)
        }
        users.get("/api/safeguard/stats") { request, _ in
            let days = try Self.days(request.formQuery["days"])
            let stats = try await safeguard.stats(days: days, timeZone: timeZone)
            return JSONBody(
                StatsOutput(
                    days: days, total: stats.total, approved: stats.approved, rejected: stats.rejected, expired: stats.expired, pending: stats.pending,
                    executed: stats.executed, failed: stats.failed, averageDecisionSeconds: stats.averageDecisionSeconds.map { $0.rounded() },
                    topTools: stats.topTools.map { .init(tool: $0.tool, count: $0.count) }, perDay: stats.perDay.map { .init(day: $0.day, count: $0.count) }
                )
            )
        }
        either.get("/api/safeguard/{id}") { _, context in
            let id = try Self.id(context.parameters.get("id"))
            let request = try await safeguard.request(id)
            // A workflow reads its own requests only.
            if case .workflow(let name) = context.caller, request.requesterType != "workflow" || request.requesterName != name {
                throw SafeguardService.notFound(id)
            }
            return JSONBody(RequestOutput(request, timeline: try await safeguard.timeline(id)))
        }
        users.post("/api/safeguard/{id}/approve") { request, context in
            let id = try Self.id(context.parameters.get("id"))
            return JSONBody(RequestOutput(try await safeguard.approve(id, by: context.user, client: context.client(of: request))))
        }
        users.post("/api/safeguard/{id}/reject") { request, context in
            let id = try Self.id(context.parameters.get("id"))
            let input = try await request.decodeJSON(RejectInput.self, context: context)
            return JSONBody(RequestOutput(try await safeguard.reject(id, by: context.user, reason: input.reason, client: context.client(of: request))))
        }
        users.post("/api/safeguard/{id}/postpone") { request, context in
            let id = try Self.id(context.parameters.get("id"))
            return JSONBody(RequestOutput(try await safeguard.postpone(id, by: context.user, client: context.client(of: request))))
        }
        // A workflow that runs its approved action itself does it here: through the platform's one MCP entry point,
        // which takes the approval only for the requester named on the request.
        workflows.post("/api/safeguard/{id}/execute") { request, context in
            let id = try Self.id(context.parameters.get("id"))
            let approval = try await safeguard.request(id)
            guard approval.requesterType == "workflow", approval.requesterName == context.workflow else { throw SafeguardService.notFound(id) }
            let result = try await mcp.call(
                ToolCallRequest(
                    tool: approval.toolName, arguments: approval.argumentFields, caller: .workflow(context.workflow),
                    reason: "Action approuvée \(id), exécutée par son demandeur", approvalID: id, client: context.client(of: request)
                )
            )
            return JSONBody(ExecutionOutput(approvalID: id, isError: result.isError, text: result.text, structured: result.structured))
        }
    }

    static let idempotencyHeader = HTTPField.Name("Idempotency-Key")!

    static func newRequest(_ input: CreateInput, header: String?, workflow: String) throws -> NewApprovalRequest {
        if input.approvalID != nil {
            throw AppError(.unprocessable, code: "invalid_field", "L'identifiant APR-… est attribué par SAFEGUARD : ne l'envoyez pas.", field: "approval_id")
        }
        if let level = input.securityLevel, ToolLevel(label: level) == nil {
            throw AppError.invalidField("security_level", "Niveau inconnu : L0 à L4 (le niveau retenu est celui du catalogue WIDIP).")
        }
        var expiresAt: Date?
        if let text = input.expiresAt {
            // A time and a zone are required: a bare day would expire at midnight somewhere.
            guard text.contains("T"), let date = StrictDate.parse(text, dayIn: TimeZone(identifier: "UTC")!) else {
                throw AppError.invalidField("expires_at", "Date ISO 8601 avec heure et fuseau attendue, par exemple 2026-01-06T15:30:00Z.")
            }
            expiresAt = date
        }
        let mode: ExecutionMode
        switch input.executionMode {
        case nil: mode = .platform
        case let text?:
            guard let parsed = ExecutionMode(rawValue: text) else {
                throw AppError.invalidField("execution_mode", "« platform » (SAFEGUARD exécute) ou « requester » (le workflow exécute lui-même).")
            }
            mode = parsed
        }
        if let header, let body = input.idempotencyKey, header != body {
            throw AppError.invalidField("idempotency_key", "La clé d'idempotence diffère de l'en-tête Idempotency-Key.")
        }
        return NewApprovalRequest(
            tool: input.toolName, arguments: input.arguments ?? [:], context: input.context ?? [:], expiresAt: expiresAt, requester: .workflow(workflow),
            idempotencyKey: input.idempotencyKey ?? header, callbackURL: input.callbackURL, executionMode: mode
        )
    }

    static func id(_ raw: String?) throws -> String {
        guard let id = raw?.removingPercentEncoding, (1...50).contains(id.count), id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            throw AppError.invalidField("id", "Identifiant de demande invalide (APR-2026-001).")
        }
        return id
    }

    static func days(_ raw: String?) throws -> Int {
        guard let raw else { return 7 }
        guard let days = Int(raw), (1...90).contains(days) else { throw AppError.invalidField("days", "Nombre de jours entre 1 et 90.") }
        return days
    }

    /// The history's filters, from the API's query or the page's form (where an empty field means any).
    static func filter(_ query: [String: String], timeZone: TimeZone) throws -> ApprovalFilter {
        func value(_ name: String) -> String? {
            guard let text = query[name]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
            return String(text.prefix(200))
        }
        var filter = ApprovalFilter()
        if let status = value("status") {
            guard let parsed = ApprovalStatus(rawValue: status) else {
                throw AppError.invalidField("status", "Statut inconnu : \(ApprovalStatus.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            filter.status = parsed
        }
        filter.tool = value("tool")
        filter.client = value("client")
        filter.requester = value("requester")
        filter.decider = value("decider")
        if let from = value("from") {
            guard let date = StrictDate.parse(from, dayIn: timeZone) else { throw AppError.invalidField("from", "Date attendue : AAAA-MM-JJ.") }
            filter.from = date
        }
        if let to = value("to") {
            guard let date = StrictDate.parse(to, dayIn: timeZone) else { throw AppError.invalidField("to", "Date attendue : AAAA-MM-JJ.") }
            // A bare day includes the whole day.
            filter.to = to.contains("T") ? date : date.addingTimeInterval(24 * 3600)
        }
        if let page = value("page") {
            guard let number = Int(page), (1...10_000).contains(number) else { throw AppError.invalidField("page", "Numéro de page invalide.") }
            filter.offset = (number - 1) * filter.limit
        }
        if let limit = value("limit") {
            guard let number = Int(limit), (1...200).contains(number) else { throw AppError.invalidField("limit", "Entre 1 et 200 lignes.") }
            filter.offset = filter.offset / filter.limit * number
            filter.limit = number
        }
        return filter
    }
}

/// How close a pending request is to its expiry (PRD 3.2.2): red under 15 min, yellow under 60, else green.
enum Urgency: String, Sendable {
    case red, yellow, green

    init(secondsLeft: TimeInterval) {
        self = secondsLeft < 15 * 60 ? .red : secondsLeft < 60 * 60 ? .yellow : .green
    }
}

/// The words of a timeline step.
enum TimelineLabels {
    static func label(_ kind: String) -> String {
        switch kind {
        case "created": "Demande créée"
        case "approval_added": "Première approbation (une seconde est requise)"
        case "approved": "Approuvée"
        case "rejected": "Rejetée"
        case "postponed": "Reportée"
        case "escalated": "Escaladée aux administrateurs"
        case "expired": "Expirée sans décision"
        case "executing": "Exécution lancée"
        case "executed": "Exécutée"
        case "failed": "Échec de l'exécution"
        case "execution_retry": "Serveur MCP injoignable : nouvel essai prévu"
        case "execution_interrupted": "Exécution interrompue, reprise"
        case "verified": "Vérification après exécution"
        default: kind
        }
    }
}

/// The history as a spreadsheet.
enum SafeguardCSV {
    static func document(_ requests: [ApprovalRequest], timeZone: TimeZone) -> CSVDocument {
        let format = FrenchFormat(timeZone: timeZone)
        return CSVDocument(
            filename: "safeguard-historique.csv",
            header: [
                "Identifiant", "Outil", "Niveau", "Statut", "Client", "Ticket", "Demandeur", "Créée le", "Expire le", "Décidée par", "Décidée le", "Motif",
                "Exécutée le", "Erreur",
            ],
            rows: requests.map { request in
                [
                    request.approvalID, request.toolName, request.securityLevel, request.approvalStatus?.frenchLabel ?? request.status, request.clientName,
                    request.ticketID, request.requesterName, format.dateTime(request.createdAt), format.dateTime(request.expiresAt), request.decidedBy,
                    request.decidedAt.map(format.dateTime), request.decisionReason, request.executedAt.map(format.dateTime), request.error,
                ]
            }
        )
    }
}
