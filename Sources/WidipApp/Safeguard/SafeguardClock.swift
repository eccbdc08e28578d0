import Foundation
import Logging
import ServiceLifecycle

/// Expires requests on time (expired means denied) and escalates those still pending near their end. Every
/// instance runs one; rows are taken with `SKIP LOCKED`, so each change happens once.
struct SafeguardClock: Service {
    let repository: ApprovalRepository
    let settings: SafeguardSettings
    /// Woken when a request is created, postponed or approved (a deadline moved).
    let signal: WakeSignal
    let ready: DatabaseReady
    let logger: Logger
    /// The longest it sleeps without looking, whatever it was told.
    var longestSleep: Duration = .seconds(15)

    func run() async throws {
        try await runRounds(ready: ready, signal: signal, longestSleep: longestSleep, logger: logger, failure: "SAFEGUARD clock failed a tick; retrying") { try await tick() }
    }

    /// Expires and escalates what is due; returns the next deadline.
    @discardableResult
    func tick() async throws -> Date? {
        // One light query when nothing is due, which is nearly always.
        let due = try await repository.nextDeadline(escalationLead: settings.escalationLead, executionWindow: settings.executionWindow)
        guard let due, due <= Date() else { return due }
        try await repository.client.transaction(logger: logger) { connection in
            for id in try await repository.dueForExpiry(executionWindow: settings.executionWindow, on: connection) {
                try await repository.setStatus(id, .expired, on: connection)
                try await repository.addStep(id, "expired", actorName: WorkflowTokens.executorName, on: connection)
            }
        }
        guard settings.escalationLead > .zero else {
            return try await repository.nextDeadline(escalationLead: settings.escalationLead, executionWindow: settings.executionWindow)
        }
        try await repository.client.transaction(logger: logger) { connection in
            for id in try await repository.dueForEscalation(lead: settings.escalationLead, on: connection) {
                try await repository.markEscalated(id, on: connection)
                try await repository.addStep(
                    id, "escalated", actorName: WorkflowTokens.executorName,
                    reason: "Moins de \(settings.escalationLead.frenchMinutes) avant expiration : escaladée aux administrateurs (N3+).", on: connection
                )
            }
        }
        return try await repository.nextDeadline(escalationLead: settings.escalationLead, executionWindow: settings.executionWindow)
    }
}
