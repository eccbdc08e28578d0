import Foundation

/// An approval taken for one execution.
public struct ConsumedApproval: Sendable, Equatable {
    public let id: String
    /// Who approved it, for the audit log.
    public let approvedBy: String?

    public init(id: String, approvedBy: String?) {
        self.id = id
        self.approvedBy = approvedBy
    }
}

/// How an execution taken with an approval ended, for the ledger to record.
public enum ApprovedExecution: Sendable {
    /// The tool answered (`isError` is its own verdict).
    case finished(ToolCallResult)
    /// The call failed after it may have reached the server (time-out, connection lost, server error).
    case failed(AppError)
    /// The caller gave up (cancellation, shutdown) with the outcome unknown.
    case abandoned
}

/// Where approvals of L3+ actions live: SAFEGUARD's `SafeguardLedger` over its approvals table.
public protocol ApprovalLedger: Sendable {
    /// Takes the approval for exactly this tool, these arguments and this caller, atomically: it must be approved,
    /// unexpired, unused, and meant for `caller` (SAFEGUARD's executor, or the requester when the request says the
    /// requester runs it); afterwards it is used. Throws an `AppError` saying which condition failed.
    func consume(approvalID: String, tool: String, arguments: JSONValue, caller: ToolCaller) async throws -> ConsumedApproval
    /// Gives a taken approval back, when the server provably never received the call it was taken for.
    func release(_ approval: ConsumedApproval) async throws
    /// Records how the execution ended.
    func complete(_ approval: ConsumedApproval, _ execution: ApprovedExecution) async
}

extension AppError {
    static func approvalRequired(tool: String, level: ToolLevel) -> AppError {
        AppError(.forbidden, code: "approval_required", "« \(tool) » est une action \(level.label) : elle doit d'abord être approuvée dans SAFEGUARD.")
    }
    static let approvalNotFound = AppError(.forbidden, code: "approval_not_found", "Cette approbation n'existe pas.")
    static let approvalNotApproved = AppError(.forbidden, code: "approval_not_approved", "Cette demande n'a pas été approuvée.")
    static let approvalExpired = AppError(.forbidden, code: "approval_expired", "Cette approbation a expiré : une nouvelle demande est nécessaire.")
    static let approvalUsed = AppError(.forbidden, code: "approval_used", "Cette approbation a déjà servi : une approbation n'autorise qu'une exécution.")
    static let approvalNotYours = AppError(
        .forbidden, code: "approval_not_yours",
        "Cette approbation ne vous est pas destinée : seul SAFEGUARD, ou le demandeur quand il exécute lui-même l'action, peut l'utiliser."
    )
    static let approvalInProgress = AppError(.conflict, code: "approval_in_progress", "Cette action approuvée est en cours d'exécution.")
    static let approvalMismatch = AppError(
        .forbidden, code: "approval_mismatch", "Cette approbation porte sur un autre outil ou d'autres arguments que ceux de l'appel."
    )
}
