import Foundation
import Logging
import PostgresNIO

/// SAFEGUARD's rules (PRD 3.2, 3.4.1): what may be asked, who may decide what, and that a request is decided once.
/// Each change commits with its timeline step (hence its `safeguard:*` event) and its audit row.
public struct SafeguardService: Sendable {
    let client: PostgresClient
    let repository: ApprovalRepository
    let audit: AuditRepository
    let mcp: MCPToolService
    let impact: ImpactPreview
    public let settings: SafeguardSettings
    /// Wakes this instance's executor when a request it should run is approved.
    let executorSignal: WakeSignal
    let logger: Logger

    // MARK: Creation

    /// Validates and stores a request. A retry with the same idempotency key returns the request already made
    /// (`created` false); the same key for another action is a conflict.
    public func create(_ new: NewApprovalRequest, client info: ClientInfo) async throws -> (request: ApprovalRequest, created: Bool) {
        try Self.validateShape(new)
        let now = Date()
        let expiresAt = new.expiresAt ?? now.addingTimeInterval(settings.maximumExpiry.seconds)
        if let key = new.idempotencyKey, let existing = try await repository.request(requester: new.requester.name, idempotencyKey: key) {
            return (try Self.sameAction(existing, new), false)
        }
        guard expiresAt > now.addingTimeInterval(1) else {
            throw AppError(.unprocessable, code: "invalid_field", "L'expiration doit être dans le futur.", field: "expires_at")
        }
        // A few seconds of leeway for the requester's clock.
        guard expiresAt <= now.addingTimeInterval(settings.maximumExpiry.seconds + 5) else {
            throw AppError(
                .unprocessable, code: "invalid_field",
                "L'expiration ne peut pas dépasser \(settings.maximumExpiry.frenchMinutes) après la demande.", field: "expires_at"
            )
        }
        let level = try await checkTool(new.tool, arguments: new.arguments)
        let before = await impact.read(tool: new.tool, arguments: new.arguments, reason: "Aperçu avant décision")
        let stored = try await client.transaction(logger: logger) { connection in
            let inserted = try await repository.insert(
                new, level: level, approvalsRequired: level >= .l4 ? 2 : 1, expiresAt: expiresAt, impact: before, on: connection
            )
            if inserted.created {
                try await audit.record(
                    AuditEntry(
                        userID: new.requester.userID, action: "safeguard.request_created", targetType: "safeguard", targetID: inserted.id,
                        details: [
                            "tool": .string(new.tool), "level": .string(level.label), "requester": .string(new.requester.name),
                            "arguments": JSONValue.object(new.arguments).maskingSecrets,
                        ],
                        client: info
                    ),
                    on: connection
                )
            }
            return inserted
        }
        guard let request = try await repository.request(stored.id) else { throw AppError.internalFailure }
        return (stored.created ? request : try Self.sameAction(request, new), stored.created)
    }

    /// The tool must be offered by the MCP server, need an approval (L3+), and accept these arguments.
    private func checkTool(_ tool: String, arguments: [String: JSONValue]) async throws -> ToolLevel {
        let offered: [ToolDescription]
        do {
            offered = try await mcp.tools()
        } catch let error as AppError {
            throw AppError(
                .unavailable, code: error.code,
                "Le serveur MCP ne peut pas confirmer l'outil demandé, la demande n'est pas enregistrée : \(error.message)"
            )
        }
        guard let description = offered.first(where: { $0.name == tool && $0.offered }) else {
            throw AppError(.unprocessable, code: "unknown_tool", "Le serveur MCP ne propose pas l'outil « \(tool) ».", field: "tool_name")
        }
        let level = mcp.catalogue.level(of: tool)
        guard level.needsApproval else {
            throw AppError(
                .unprocessable, code: "approval_not_needed",
                "« \(tool) » est de niveau \(level.label) : il s'exécute sans approbation, SAFEGUARD n'est que pour L3 et L4.", field: "tool_name"
            )
        }
        if let schema = description.inputSchema, let problem = ArgumentSchema(schema: schema).problem(with: arguments) {
            throw AppError(.unprocessable, code: "invalid_arguments", "« \(tool) » : \(problem.message)", field: problem.field)
        }
        return level
    }

    static let contextTextKeys = ["ticket_title", "ticket_description", "client_name", "workflow"]

    /// Limits that need no outside system: sizes, types of the context's known keys, the callback's address.
    static func validateShape(_ new: NewApprovalRequest) throws {
        guard MCPController.isToolName(new.tool) else {
            throw AppError.invalidField("tool_name", "Nom d'outil invalide : 1 à 128 lettres sans accent, chiffres, « _ », « - » ou « . ».")
        }
        guard JSONValue.object(new.arguments).jsonText.utf8.count <= 16_384 else {
            throw AppError.invalidField("arguments", "Les arguments dépassent 16 Ko.")
        }
        guard JSONValue.object(new.context).jsonText.utf8.count <= 32_768 else {
            throw AppError.invalidField("context", "Le contexte dépasse 32 Ko.")
        }
        for key in contextTextKeys {
            switch new.context[key] {
            case nil, .null, .string?: break
            default: throw AppError.invalidField("context.\(key)", "Doit être un texte.")
            }
        }
        switch new.context["ticket_id"] {
        case nil, .null: break
        case .number(let number)? where number.rounded() == number && number >= 0: break
        case .string(let text)? where !text.isEmpty && text.count <= 50: break
        default: throw AppError.invalidField("context.ticket_id", "Doit être un numéro de ticket.")
        }
        switch new.context["confidence"] {
        case nil, .null: break
        case .number(let number)? where (0...100).contains(number): break
        default: throw AppError.invalidField("context.confidence", "Doit être un nombre de 0 à 100 (pourcentage).")
        }
        if let key = new.idempotencyKey, key.isEmpty || key.count > 200 {
            throw AppError.invalidField("idempotency_key", "La clé d'idempotence fait 1 à 200 caractères.")
        }
        if let callback = new.callbackURL {
            guard callback.count <= 2000, let url = URL(string: callback), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host != nil else {
                throw AppError.invalidField("callback_url", "Doit être une URL http(s) complète.")
            }
            guard case .workflow = new.requester else {
                throw AppError.invalidField("callback_url", "Seul un workflow reçoit le résultat à une adresse de rappel.")
            }
        }
    }

    /// A retried creation must ask for the same action as the first one.
    private static func sameAction(_ existing: ApprovalRequest, _ new: NewApprovalRequest) throws -> ApprovalRequest {
        guard existing.toolName == new.tool, existing.arguments == .object(new.arguments) else {
            throw AppError(
                .conflict, code: "idempotency_conflict",
                "La clé d'idempotence a déjà servi pour une autre demande (\(existing.approvalID), \(existing.toolName)) : utilisez-en une nouvelle."
            )
        }
        return existing
    }

    // MARK: Decisions

    public func approve(_ id: String, by user: User, client info: ClientInfo) async throws -> ApprovalRequest {
        let approved = try await deciding(id, by: user, action: "approve", client: info) { request, connection in
            let approvers = try await repository.approvers(id, on: connection)
            guard !approvers.contains(user.id) else {
                throw AppError(
                    .conflict, code: "already_approved",
                    "Vous avez déjà approuvé cette demande : une action L4 demande l'approbation d'une seconde personne.",
                    details: ["status": request.status]
                )
            }
            let count = approvers.count + 1
            if count >= request.approvalsRequired {
                try await repository.decide(id, status: .approved, deciderID: user.id, reason: nil, approvalsCount: count, on: connection)
                try await repository.addStep(id, "approved", actorID: user.id, actorName: user.username, ipAddress: info.ipAddress, on: connection)
            } else {
                try await repository.recordApproval(id, count: count, on: connection)
                try await repository.addStep(id, "approval_added", actorID: user.id, actorName: user.username, ipAddress: info.ipAddress, on: connection)
            }
            return count >= request.approvalsRequired
        }
        if approved.outcome { executorSignal.wake() }
        return approved.request
    }

    public func reject(_ id: String, by user: User, reason: String, client info: ClientInfo) async throws -> ApprovalRequest {
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (3...1000).contains(reason.count) else {
            throw AppError.invalidField("reason", "Indiquez pourquoi vous rejetez cette demande (3 à 1000 caractères).")
        }
        return try await deciding(id, by: user, action: "reject", reason: reason, client: info) { request, connection in
            try await repository.decide(id, status: .rejected, deciderID: user.id, reason: reason, approvalsCount: request.approvalsCount, on: connection)
            try await repository.addStep(id, "rejected", actorID: user.id, actorName: user.username, reason: reason, ipAddress: info.ipAddress, on: connection)
        }.request
    }

    /// « Reporter »: more time to decide, a limited number of times.
    public func postpone(_ id: String, by user: User, client info: ClientInfo) async throws -> ApprovalRequest {
        try await deciding(id, by: user, action: "postpone", client: info) { request, connection in
            guard request.postponeCount < settings.maximumPostpones else {
                throw AppError(
                    .conflict, code: "postpone_limit",
                    "Cette demande a déjà été reportée \(request.postponeCount) fois, le maximum : approuvez-la ou rejetez-la.",
                    details: ["status": request.status, "postpone_count": String(request.postponeCount)]
                )
            }
            try await repository.postpone(id, by: settings.postponeStep, on: connection)
            try await repository.addStep(
                id, "postponed", actorID: user.id, actorName: user.username, details: ["minutes": .number(Double(settings.postponeStep.components.seconds / 60))],
                ipAddress: info.ipAddress, on: connection
            )
        }.request
    }

    /// Runs a decision on the locked request: it must exist, be pending and unexpired, and the user must be allowed to
    /// decide it. A request found past its expiry is expired on the spot (and the decision refused).
    private func deciding<Outcome: Sendable>(
        _ id: String, by user: User, action: String, reason: String? = nil, client info: ClientInfo,
        _ change: @Sendable (ApprovalRequest, PostgresConnection) async throws -> Outcome
    ) async throws -> (request: ApprovalRequest, outcome: Outcome) {
        // The request is read back inside the transaction: the answer shows the decision as made, not what the
        // executor (woken by the commit) has already made of it.
        let (result, request): (DecisionResult<Outcome>, ApprovalRequest) = try await client.transaction(logger: logger) { connection in
            guard let request = try await repository.lock(id, on: connection) else { throw Self.notFound(id) }
            guard request.status == ApprovalStatus.pending.rawValue else { throw Self.alreadyDecided(request) }
            if request.expiresAt <= Date() {
                try await expire(request, on: connection)
                return (.expired, try await repository.request(id, on: connection) ?? request)
            }
            try Self.check(user, mayDecide: request)
            let outcome = try await change(request, connection)
            var details: [String: JSONValue] = ["tool": .string(request.toolName), "level": .string(request.securityLevel)]
            if let reason { details["reason"] = .string(reason) }
            try await audit.record(
                AuditEntry(userID: user.id, action: "safeguard.\(action)", targetType: "safeguard", targetID: id, details: .object(details), client: info),
                on: connection
            )
            guard let decided = try await repository.request(id, on: connection) else { throw Self.notFound(id) }
            return (.done(outcome), decided)
        }
        switch result {
        case .expired: throw Self.alreadyDecided(request)
        case .done(let outcome): return (request, outcome)
        }
    }

    /// PRD 3.4.1: N2 decides L3 requests, N3 and N4 decide L3 and L4; nobody decides a request they caused.
    static func check(_ user: User, mayDecide request: ApprovalRequest) throws {
        let needed: AccreditationLevel = request.level >= .l4 ? .n3 : .n2
        guard user.level >= needed else {
            throw AppError(
                .forbidden, code: "insufficient_level",
                "Une action \(request.level.label) se décide à partir du niveau \(needed.rawValue) ; le vôtre est \(user.level.rawValue)."
            )
        }
        if request.requesterType == "user", request.requesterUserID == user.id {
            throw AppError(
                .forbidden, code: "own_request", "Vous êtes à l'origine de cette demande : un ou une collègue doit la décider (principe des quatre yeux)."
            )
        }
    }

    /// Whether `user` may decide `request` now, for the page's buttons (the rules above, and the request still pending).
    static func mayDecide(_ user: User, _ request: ApprovalRequest) -> Bool {
        request.status == ApprovalStatus.pending.rawValue && (try? check(user, mayDecide: request)) != nil
    }

    func expire(_ request: ApprovalRequest, on connection: PostgresConnection) async throws {
        try await repository.setStatus(request.approvalID, .expired, on: connection)
        try await repository.addStep(request.approvalID, "expired", actorName: WorkflowTokens.executorName, on: connection)
    }

    static func notFound(_ id: String) -> AppError {
        AppError(.notFound, code: "approval_not_found", "La demande « \(String(id.prefix(60))) » n'existe pas.")
    }

    /// 409: the decision came too late; says what happened and who decided.
    static func alreadyDecided(_ request: ApprovalRequest) -> AppError {
        let status = request.approvalStatus
        var message = "Cette demande n'est plus en attente : elle est \((status?.frenchLabel ?? request.status).lowercased())"
        if let decider = request.decidedBy, status != .expired { message += " (décision de \(decider))" }
        var details = ["status": request.status]
        if let decider = request.decidedBy { details["decided_by"] = decider }
        if let decidedAt = request.decidedAt { details["decided_at"] = decidedAt.formatted(.iso8601) }
        return AppError(.conflict, code: "already_decided", message + ".", details: details)
    }

    // MARK: Reading

    public func request(_ id: String) async throws -> ApprovalRequest {
        guard let request = try await repository.request(id) else { throw Self.notFound(id) }
        return request
    }

    public func timeline(_ id: String) async throws -> [TimelineStep] { try await repository.timeline(id) }
    public func pending() async throws -> [ApprovalRequest] { try await repository.pending() }
    public func pendingCount() async throws -> Int { try await repository.pendingCount() }
    public func history(_ filter: ApprovalFilter) async throws -> (requests: [ApprovalRequest], total: Int) { try await repository.history(filter) }
    public func tools() async throws -> [String] { try await repository.tools() }

    public func stats(days: Int, timeZone: TimeZone) async throws -> ApprovalStats {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let start = calendar.date(byAdding: .day, value: -(days - 1), to: calendar.startOfDay(for: Date())) ?? Date()
        return try await repository.stats(since: start, timeZone: timeZone)
    }
}

/// A decision that went through, or one that found its request expired (the expiry is committed, the decision refused).
private enum DecisionResult<Outcome: Sendable>: Sendable {
    case done(Outcome)
    case expired
}
