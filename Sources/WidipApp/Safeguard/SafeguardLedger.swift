import Foundation
import Logging
import PostgresNIO
import Synchronization

/// The approvals `MCPToolService` checks before an L3+ call, over `safeguard_approvals`.
///
/// An execution holds a Postgres advisory lock on its request, on a connection of its own, from the moment the
/// approval is taken until its outcome is written. Postgres drops the lock with the connection, so a request seen
/// `executing` whose lock is free was left by an executor that died (SIGKILL, lost host): `recoverAbandoned` puts it
/// back to `approved` and SAFEGUARD runs it again, with the approval id as the MCP call's idempotency key, so the
/// server applies it once. Two executions of one request never run at the same time: the second cannot take the lock.
final class SafeguardLedger: ApprovalLedger {
    let database: DatabaseURL
    let repository: ApprovalRepository
    let settings: SafeguardSettings
    let logger: Logger
    /// The lock-holding connection of each execution in progress in this process.
    private let held = Mutex<[String: PostgresConnection]>([:])
    private let connectionIDs = Atomic<Int>(0)

    /// A platform-run action whose server stayed unreachable is tried this many times, then failed.
    static let attemptsBeforeFailing = 3

    init(database: DatabaseURL, repository: ApprovalRepository, settings: SafeguardSettings, logger: Logger) {
        self.database = database
        self.repository = repository
        self.settings = settings
        self.logger = logger
    }

    func consume(approvalID: String, tool: String, arguments: JSONValue, caller: ToolCaller) async throws -> ConsumedApproval {
        let connection = try await connect()
        do {
            guard try await tryLock(approvalID, on: connection) else {
                throw try await repository.request(approvalID, on: connection) == nil ? AppError.approvalNotFound : AppError.approvalInProgress
            }
            let approvedBy: String? = try await connection.transaction(logger: logger) { connection in
                guard let request = try await repository.lock(approvalID, on: connection) else { throw AppError.approvalNotFound }
                switch request.approvalStatus {
                case .approved?:
                    if request.mode == .requester, let decidedAt = request.decidedAt, decidedAt.addingTimeInterval(settings.executionWindow.seconds) <= Date() {
                        throw AppError.approvalExpired
                    }
                case .expired?: throw AppError.approvalExpired
                case .executing?, .executed?, .failed?: throw AppError.approvalUsed
                case .pending?, .rejected?, nil: throw AppError.approvalNotApproved
                }
                guard Self.may(caller, use: request) else { throw AppError.approvalNotYours }
                guard request.toolName == tool, request.arguments == arguments else { throw AppError.approvalMismatch }
                try await repository.startExecution(approvalID, on: connection)
                try await repository.addStep(approvalID, "executing", actorID: caller.userID, actorName: caller.actorName, on: connection)
                return request.decidedBy
            }
            held.withLock { $0[approvalID] = connection }
            return ConsumedApproval(id: approvalID, approvedBy: approvedBy)
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// SAFEGUARD's executor runs what it is asked to run; a requester runs only its own request, and only when the
    /// request leaves the execution to it.
    static func may(_ caller: ToolCaller, use request: ApprovalRequest) -> Bool {
        switch (request.mode, caller) {
        case (.platform, .workflow(let name)): name == WorkflowTokens.executorName
        case (.platform, .user): false
        case (.requester, .workflow(let name)): request.requesterType == "workflow" && request.requesterName == name
        case (.requester, .user(let id, _, _)): request.requesterType == "user" && request.requesterUserID == id
        }
    }

    func release(_ approval: ConsumedApproval) async throws {
        guard let connection = take(approval.id) else { return }
        defer { Task { try? await connection.close() } }
        try await connection.transaction(logger: logger) { connection in
            guard let request = try await repository.lock(approval.id, on: connection), request.approvalStatus == .executing else { return }
            if request.mode == .platform && request.executionAttempts >= Self.attemptsBeforeFailing {
                let error = "Le serveur MCP est resté injoignable après \(request.executionAttempts) tentatives : l'action n'a pas été exécutée."
                try await repository.finishExecution(approval.id, status: .failed, result: nil, error: error, on: connection)
                try await repository.addStep(approval.id, "failed", actorName: WorkflowTokens.executorName, reason: error, on: connection)
            } else {
                let retryAt = Date().addingTimeInterval(Double(10 * request.executionAttempts))
                try await repository.returnToApproved(approval.id, retryAt: request.mode == .platform ? retryAt : nil, on: connection)
                try await repository.addStep(
                    approval.id, "execution_retry", actorName: WorkflowTokens.executorName,
                    reason: "Le serveur MCP n'a pas reçu l'appel : l'action n'a pas été exécutée.", on: connection
                )
            }
        }
    }

    func complete(_ approval: ConsumedApproval, _ execution: ApprovedExecution) async {
        guard let connection = take(approval.id) else { return }
        defer { Task { try? await connection.close() } }
        let status: ApprovalStatus
        let result: JSONValue?
        let error: String?
        switch execution {
        case .abandoned:
            // Outcome unknown: closing the connection frees the lock, and the recovery runs it again.
            return
        case .finished(let answer):
            status = answer.isError ? .failed : .executed
            result = (answer.structured ?? .string(answer.text)).maskingSecrets
            error = answer.isError ? String(answer.text.prefix(2000)) : nil
        case .failed(let failure):
            status = .failed
            result = nil
            error = failure.message
        }
        do {
            try await connection.transaction(logger: logger) { connection in
                try await repository.finishExecution(approval.id, status: status, result: result, error: error, on: connection)
                try await repository.addStep(approval.id, status.rawValue, actorName: WorkflowTokens.executorName, reason: error, on: connection)
            }
        } catch {
            // The lock goes with the connection: the recovery will run the action again, under its idempotency key.
            logger.error("SAFEGUARD could not record an execution", metadata: ["approval": "\(approval.id)", "error": "\(String(reflecting: error))"])
        }
    }

    /// Puts back to `approved` a request left `executing` by an executor that is gone. False when someone holds it.
    @discardableResult
    func recoverAbandoned(_ id: String) async throws -> Bool {
        let connection = try await connect()
        do {
            guard try await tryLock(id, on: connection) else {
                try await connection.close()
                return false
            }
            let recovered = try await connection.transaction(logger: logger) { connection in
                guard let request = try await repository.lock(id, on: connection), request.approvalStatus == .executing else { return false }
                try await repository.returnToApproved(id, retryAt: nil, on: connection)
                try await repository.addStep(
                    id, "execution_interrupted", actorName: WorkflowTokens.executorName,
                    reason: "L'exécution a été interrompue (arrêt d'une instance) : elle reprend avec la même clé d'idempotence.", on: connection
                )
                return true
            }
            try await connection.close()
            return recovered
        } catch {
            try? await connection.close()
            throw error
        }
    }

    private func take(_ id: String) -> PostgresConnection? {
        held.withLock { $0.removeValue(forKey: id) }
    }

    private func connect() async throws -> PostgresConnection {
        let id = connectionIDs.add(1, ordering: .relaxed).newValue
        return try await PostgresConnection.connect(
            configuration: try database.connectionConfiguration(applicationName: "widip-safeguard-execution"), id: id, logger: logger
        )
    }

    /// "SAFE" and the request's id: session-level, held until unlocked or the connection ends.
    private func tryLock(_ id: String, on connection: PostgresConnection) async throws -> Bool {
        for try await locked in try await connection.query("SELECT pg_try_advisory_lock(1396786757, hashtext(\(id)))", logger: logger).decode(Bool.self) {
            return locked
        }
        return false
    }
}
