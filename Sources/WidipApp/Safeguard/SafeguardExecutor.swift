import Foundation
import Logging
import ServiceLifecycle

/// Runs approved actions that SAFEGUARD executes itself, through `MCPToolService` (levels, audit and metrics there),
/// and recovers executions an instance left unfinished. Every instance runs one; the ledger makes sure each action is
/// taken once.
struct SafeguardExecutor: Service {
    let repository: ApprovalRepository
    let ledger: SafeguardLedger
    let mcp: MCPToolService
    let impact: ImpactPreview
    let signal: WakeSignal
    let ready: DatabaseReady
    let logger: Logger
    /// The longest wait between two looks at the table without being woken (a retry that came due, an execution an
    /// instance that died left behind).
    var interval: Duration = .seconds(15)

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            await ready.wait()
            while !Task.isCancelled {
                do {
                    try await sweep()
                } catch where !Task.isCancelled {
                    logger.warning("SAFEGUARD executor failed a round; retrying", metadata: ["error": "\(String(reflecting: error))"])
                }
                await signal.wait(upTo: interval)
            }
        }
    }

    func sweep() async throws {
        for id in try await repository.executing() {
            if try await ledger.recoverAbandoned(id) {
                logger.warning("SAFEGUARD resumed an interrupted execution", metadata: ["approval": "\(id)"])
            }
        }
        for id in try await repository.readyToExecute() {
            try Task.checkCancellation()
            await execute(id)
        }
    }

    func execute(_ id: String) async {
        do {
            guard let request = try await repository.request(id), request.approvalStatus == .approved, request.mode == .platform else { return }
            let result = try await mcp.call(
                ToolCallRequest(
                    tool: request.toolName, arguments: request.argumentFields, caller: .workflow(WorkflowTokens.executorName),
                    reason: "Action approuvée \(id) (décision de \(request.decidedBy ?? "?"))", approvalID: id,
                    client: ClientInfo(ipAddress: nil, userAgent: "widip-safeguard")
                )
            )
            if !result.isError { await verify(request) }
        } catch let error as AppError where ["approval_used", "approval_in_progress", "approval_not_approved"].contains(error.code) {
            // Another instance took it first.
        } catch is CancellationError {
        } catch {
            logger.warning("SAFEGUARD execution failed", metadata: ["approval": "\(id)", "error": "\(String(reflecting: error))"])
        }
    }

    /// Reads the account again and says whether the change shows.
    private func verify(_ request: ApprovalRequest) async {
        guard let after = await impact.read(tool: request.toolName, arguments: request.argumentFields, reason: "Vérification après exécution") else { return }
        guard let check = ImpactPreview.confirmation(tool: request.toolName, before: request.impactBefore, after: after) else { return }
        do {
            try await repository.client.transaction(logger: logger) { connection in
                try await repository.setImpactAfter(request.approvalID, after, on: connection)
                try await repository.addStep(
                    request.approvalID, "verified", actorName: WorkflowTokens.executorName, reason: check.summary,
                    details: ["confirmed": .bool(check.confirmed)], on: connection
                )
            }
        } catch {
            logger.warning("SAFEGUARD could not record a verification", metadata: ["approval": "\(request.approvalID)", "error": "\(String(reflecting: error))"])
        }
    }
}
