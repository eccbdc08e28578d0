import Foundation
import Logging
import PostgresNIO

/// Takes in what the workflows report (their events, Observium's webhook) exactly once per delivery. The rows are the
/// record, under the name of the workflow that wrote them; they are not copied into the audit log, which would then
/// hold every ticket of every client.
struct WorkflowIngestion: Sendable {
    let repository: WorkflowRepository
    let logger: Logger

    /// What a delivery produced; a retry gets the first delivery's outcome with `duplicate` set.
    struct Receipt: Sendable {
        let outcome: JSONValue
        let duplicate: Bool
    }

    /// The name Observium's deliveries are remembered and written under.
    static let observium = "OBSERVIUM"

    func receive(_ event: WorkflowEvent, eventID: String, from workflow: String) async throws -> Receipt {
        try await repository.client.transaction(logger: logger) { connection in
            if let earlier = try await repository.claim(workflow: workflow, eventID: eventID, type: event.type, on: connection) {
                return Receipt(outcome: earlier, duplicate: true)
            }
            let outcome = try await apply(event, workflow: workflow, on: connection)
            try await repository.settle(workflow: workflow, eventID: eventID, outcome: outcome, on: connection)
            return Receipt(outcome: outcome, duplicate: false)
        }
    }

    func receive(_ alert: ObserviumAlert) async throws -> Receipt {
        try await repository.client.transaction(logger: logger) { connection in
            if let earlier = try await repository.claim(workflow: Self.observium, eventID: alert.deliveryKey, type: "observium:\(alert.kind.rawValue)", on: connection) {
                return Receipt(outcome: earlier, duplicate: true)
            }
            let outcome = try await apply(alert, on: connection)
            try await repository.settle(workflow: Self.observium, eventID: alert.deliveryKey, outcome: outcome, on: connection)
            return Receipt(outcome: outcome, duplicate: false)
        }
    }

    private func apply(_ event: WorkflowEvent, workflow: String, on connection: PostgresConnection) async throws -> JSONValue {
        switch event {
        case .ticketProcessed(let ticket):
            let (id, correlation) = try await repository.insert(ticket, workflow: workflow, on: connection)
            return .object(["log_id": .number(Double(id)), "correlation_id": .string(correlation)])
        case .alertDetected(let report):
            return try await apply(report, on: connection)
        case .error(let error):
            let id = try await repository.insert(error, workflow: workflow, on: connection)
            return .object(["error_id": .number(Double(id))])
        case .healthChange(let health):
            try await repository.insert(health, source: workflow, on: connection)
            return .object(["dependency": .string(health.dependency), "status": .string(health.state.rawValue)])
        case .ingestionRun(let run):
            let recorded = try await repository.insert(run, workflow: workflow, on: connection)
            return .object(["run_id": .string(run.runID), "recorded": .bool(recorded)])
        }
    }

    /// SENTINEL's report: updates the alert's open incident, or opens one. A report about the alert's latest incident
    /// when it is already resolved (a short outage that Observium saw recover before SENTINEL finished, or a
    /// responsibility known after the fact) completes that incident rather than opening another.
    private func apply(_ report: AlertReport, on connection: PostgresConnection) async throws -> JSONValue {
        try await repository.lock(alertID: report.alertID, on: connection)
        let latest = try await repository.latestIncident(alertID: report.alertID, on: connection)
        let aboutLatest = latest?.resolvedAt.map { report.at <= $0 } ?? true
        if let latest, aboutLatest || report.state == .resolved || (report.state == nil && report.device == nil) {
            _ = try await repository.update(incident: latest.id, with: report, timelineStep: report.step, on: connection)
            return Self.incidentOutcome(latest.id, latest.correlationID, change: "updated")
        }
        guard let device = report.device else {
            throw AppError.invalidField("data.device", "Requis pour ouvrir un incident : aucun incident ouvert ne porte cet alert_id.")
        }
        let opened = try await repository.openIncident(report, device: device, timelineStep: report.step, on: connection)
        return Self.incidentOutcome(opened.id, opened.correlationID, change: "opened")
    }

    /// A firing alert opens an incident unless one is open (a reminder changes nothing) or the alert already
    /// recovered after this notification's time (a late delivery); a recovery resolves the open one.
    private func apply(_ alert: ObserviumAlert, on connection: PostgresConnection) async throws -> JSONValue {
        try await repository.lock(alertID: alert.alertID, on: connection)
        let latest = try await repository.latestIncident(alertID: alert.alertID, on: connection)
        switch alert.kind {
        case .firing:
            if let latest, latest.resolvedAt.map({ $0 >= alert.at }) ?? true {
                return Self.incidentOutcome(latest.id, latest.correlationID, change: "unchanged")
            }
            let report = AlertReport(
                alertID: alert.alertID, device: alert.device, client: alert.client, state: .open, responsibility: .undetermined, confidence: nil,
                ticketID: nil, message: alert.message, severity: alert.severity, step: nil, correlationID: nil, at: alert.at
            )
            let step = "Alerte Observium : \(alert.message ?? "\(alert.device) en alerte")"
            let opened = try await repository.openIncident(report, device: alert.device, timelineStep: step, on: connection)
            return Self.incidentOutcome(opened.id, opened.correlationID, change: "opened")
        case .recovery:
            guard let latest, latest.resolvedAt == nil else {
                return latest.map { Self.incidentOutcome($0.id, $0.correlationID, change: "unchanged") } ?? .object(["change": .string("unchanged")])
            }
            let report = AlertReport(
                alertID: alert.alertID, device: nil, client: nil, state: .resolved, responsibility: nil, confidence: nil, ticketID: nil,
                message: nil, severity: nil, step: nil, correlationID: nil, at: alert.at
            )
            _ = try await repository.update(incident: latest.id, with: report, timelineStep: "Rétablissement signalé par Observium", on: connection)
            return Self.incidentOutcome(latest.id, latest.correlationID, change: "resolved")
        }
    }

    static func incidentOutcome(_ id: Int64, _ correlation: String?, change: String) -> JSONValue {
        .object(["incident_id": .number(Double(id)), "correlation_id": correlation.map { .string($0) } ?? .null, "change": .string(change)])
    }
}
