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

/// Where approvals of L3+ actions live. SAFEGUARD implements it over its approvals table.
public protocol ApprovalLedger: Sendable {
    /// Takes the approval for exactly this tool and these arguments, atomically: it must be approved, unexpired and
    /// unused, and afterwards it is used. Throws an `AppError` saying which condition failed.
    func consume(approvalID: String, tool: String, arguments: JSONValue) async throws -> ConsumedApproval
    /// Gives a taken approval back, when the server provably never received the call it was taken for.
    func release(_ approval: ConsumedApproval) async throws
}

/// The ledger until SAFEGUARD exists: no approval can be found, so every L3+ call is refused.
public struct NoApprovalLedger: ApprovalLedger {
    public init() {}

    public func consume(approvalID: String, tool: String, arguments: JSONValue) async throws -> ConsumedApproval {
        throw AppError(
            .forbidden, code: "approval_unavailable",
            "Les approbations SAFEGUARD ne sont pas encore en service : aucune action L3 ne peut être exécutée."
        )
    }

    public func release(_ approval: ConsumedApproval) async throws {}
}

extension AppError {
    static func approvalRequired(tool: String, level: ToolLevel) -> AppError {
        AppError(.forbidden, code: "approval_required", "« \(tool) » est une action \(level.label) : elle doit d'abord être approuvée dans SAFEGUARD.")
    }
    static let approvalNotFound = AppError(.forbidden, code: "approval_not_found", "Cette approbation n'existe pas.")
    static let approvalNotApproved = AppError(.forbidden, code: "approval_not_approved", "Cette demande n'a pas été approuvée.")
    static let approvalExpired = AppError(.forbidden, code: "approval_expired", "Cette approbation a expiré : une nouvelle demande est nécessaire.")
    static let approvalUsed = AppError(.forbidden, code: "approval_used", "Cette approbation a déjà servi : une approbation n'autorise qu'une exécution.")
    static let approvalMismatch = AppError(
        .forbidden, code: "approval_mismatch", "Cette approbation porte sur un autre outil ou d'autres arguments que ceux de l'appel."
    )
}
