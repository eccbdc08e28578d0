import Foundation
import Logging
import PostgresNIO

/// SQL that writes the workflow tables (migration 0009). Every write takes the caller's connection: a row, its event
/// (written by the table's trigger) and its delivery receipt commit together.
struct WorkflowRepository: Sendable {
    let client: PostgresClient
    let logger: Logger

    /// Claims a delivery key. Nil when it was claimed before: then the first delivery's outcome. A concurrent
    /// delivery of the same key waits here until the first commits (the primary key), then sees it.
    func claim(workflow: String, eventID: String, type: String, on connection: PostgresConnection) async throws -> JSONValue? {
        let claimed = try await connection.query(
            """
            INSERT INTO workflow_event_receipts (workflow, event_id, type, outcome) VALUES (\(workflow), \(eventID), \(type), '{}'::jsonb)
            ON CONFLICT (workflow, event_id) DO NOTHING RETURNING 1
            """,
            logger: logger
        )
        for try await _ in claimed { return nil }
        let rows = try await connection.query(
            "SELECT outcome::text FROM workflow_event_receipts WHERE workflow = \(workflow) AND event_id = \(eventID)", logger: logger
        )
        for try await text in rows.decode(String.self) {
            return (try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))) ?? .object([:])
        }
        throw AppError.internalFailure
    }

    func settle(workflow: String, eventID: String, outcome: JSONValue, on connection: PostgresConnection) async throws {
        try await connection.query(
            "UPDATE workflow_event_receipts SET outcome = \(outcome.jsonText)::jsonb WHERE workflow = \(workflow) AND event_id = \(eventID)",
            logger: logger
        )
    }

    func insert(_ ticket: TicketProcessed, workflow: String, on connection: PostgresConnection) async throws -> (id: Int64, correlationID: String) {
        // A ticket that SENTINEL opened for an alert continues that alert's thread.
        let rows = try await connection.query(
            """
            INSERT INTO widip_agent_logs
                (ticket_id, category, status, auto_resolved, client_name, action, error, duration_ms, created_at, workflow, correlation_id)
            VALUES (\(ticket.ticketID), \(ticket.category.rawValue), \(ticket.outcome.rawValue), \(ticket.autoResolved), \(ticket.client),
                    \(ticket.action), \(ticket.error), \(ticket.durationMs), \(ticket.at), \(workflow),
                    COALESCE(\(ticket.correlationID),
                             (SELECT correlation_id FROM incident_logs WHERE ticket_id = \(ticket.ticketID) AND correlation_id IS NOT NULL
                              ORDER BY detected_at DESC LIMIT 1),
                             (SELECT correlation_id FROM widip_agent_logs WHERE ticket_id = \(ticket.ticketID) AND correlation_id IS NOT NULL
                              ORDER BY created_at DESC LIMIT 1),
                             'TKT-' || \(ticket.ticketID)))
            RETURNING id, correlation_id
            """,
            logger: logger
        )
        for try await row in rows.decode((Int64, String).self) { return row }
        throw AppError.internalFailure
    }

    func insert(_ error: WorkflowErrorReport, workflow: String, on connection: PostgresConnection) async throws -> Int64 {
        let rows = try await connection.query(
            """
            INSERT INTO workflow_errors (workflow, message, tool, ticket_id, alert_id, attempts, recovered, correlation_id, created_at)
            VALUES (\(workflow), \(error.message), \(error.tool), \(error.ticketID), \(error.alertID), \(error.attempts), \(error.recovered),
                    COALESCE(\(error.correlationID),
                             (SELECT correlation_id FROM incident_logs WHERE alert_id = \(error.alertID) AND correlation_id IS NOT NULL
                              ORDER BY detected_at DESC LIMIT 1),
                             (SELECT correlation_id FROM widip_agent_logs WHERE ticket_id = \(error.ticketID) AND correlation_id IS NOT NULL
                              ORDER BY created_at DESC LIMIT 1),
                             (SELECT correlation_id FROM incident_logs WHERE ticket_id = \(error.ticketID) AND correlation_id IS NOT NULL
                              ORDER BY detected_at DESC LIMIT 1)),
                    \(error.at))
            RETURNING id
            """,
            logger: logger
        )
        for try await id in rows.decode(Int64.self) { return id }
        throw AppError.internalFailure
    }

    /// Records a check; the table's trigger updates `health_status` and publishes a change, if it is one.
    func insert(_ health: HealthCheck, source: String, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            INSERT INTO health_checks (dependency, status, latency_ms, detail, source, checked_at)
            VALUES (\(health.dependency), \(health.state.rawValue), \(health.latencyMs), \(health.detail), \(source), \(health.at))
            """,
            logger: logger
        )
    }

    /// False when the workflow already reported this run.
    func insert(_ run: IngestionRun, workflow: String, on connection: PostgresConnection) async throws -> Bool {
        let rows = try await connection.query(
            """
            INSERT INTO ingestion_runs
                (workflow, run_id, source, status, documents_added, documents_updated, documents_removed, error, started_at, finished_at)
            VALUES (\(workflow), \(run.runID), \(run.source), \(run.status), \(run.added), \(run.updated), \(run.removed), \(run.error),
                    \(run.startedAt), \(run.finishedAt))
            ON CONFLICT (workflow, run_id) DO NOTHING RETURNING 1
            """,
            logger: logger
        )
        for try await _ in rows { return true }
        return false
    }

    struct IncidentRef: Sendable, Equatable {
        let id: Int64
        let correlationID: String?
        let resolvedAt: Date?
    }

    /// Serialises everything that happens to one alert (a webhook and SENTINEL's report arriving together would
    /// otherwise both find no open incident and open two).
    func lock(alertID: String, on connection: PostgresConnection) async throws {
        try await connection.query("SELECT pg_advisory_xact_lock(hashtext('widip-alert:' || \(alertID)))", logger: logger)
    }

    /// The alert's open incident, or else its latest one.
    func latestIncident(alertID: String, on connection: PostgresConnection) async throws -> IncidentRef? {
        let rows = try await connection.query(
            """
            SELECT id, correlation_id, resolved_at FROM incident_logs WHERE alert_id = \(alertID)
            ORDER BY (resolved_at IS NULL) DESC, detected_at DESC, id DESC LIMIT 1
            """,
            logger: logger
        )
        for try await (id, correlation, resolved) in rows.decode((Int64, String?, Date?).self) {
            return IncidentRef(id: id, correlationID: correlation, resolvedAt: resolved)
        }
        return nil
    }

    /// Opens an incident. Its thread's id is the one given, or one named after the alert and its first time.
    func openIncident(_ report: AlertReport, device: String, timelineStep: String?, on connection: PostgresConnection) async throws -> IncidentRef {
        let correlation = report.correlationID ?? "ALR-\(report.alertID)-\(Int(report.at.timeIntervalSince1970))"
        let state = report.state ?? .open
        let resolvedAt = state == .resolved ? report.at : nil
        let rows = try await connection.query(
            """
            INSERT INTO incident_logs
                (alert_id, device_name, client_name, status, responsibility, confidence, ticket_id, message, severity, timeline,
                 detected_at, resolved_at, correlation_id, updated_at)
            VALUES (\(report.alertID), \(device), \(report.client), \(state.rawValue), \(report.responsibility?.rawValue ?? Responsibility.undetermined.rawValue),
                    \(report.confidence), \(report.ticketID), \(report.message), \(report.severity),
                    CASE WHEN \(timelineStep)::text IS NULL THEN '[]'::jsonb
                         ELSE jsonb_build_array(jsonb_build_object('at', \(Self.rfc3339(report.at)), 'text', \(timelineStep)::text)) END,
                    \(report.at), \(resolvedAt), \(correlation), NOW())
            RETURNING id
            """,
            logger: logger
        )
        for try await id in rows.decode(Int64.self) { return IncidentRef(id: id, correlationID: correlation, resolvedAt: resolvedAt) }
        throw AppError.internalFailure
    }

    /// Applies what a report says to an incident: given fields replace, absent ones stay; a step is appended; a
    /// resolved state sets the resolution time once.
    func update(incident id: Int64, with report: AlertReport, timelineStep: String?, on connection: PostgresConnection) async throws -> Bool {
        let rows = try await connection.query(
            """
            UPDATE incident_logs SET
                device_name = COALESCE(\(report.device), device_name),
                client_name = COALESCE(\(report.client), client_name),
                status = COALESCE(\(report.state?.rawValue), status),
                responsibility = COALESCE(\(report.responsibility?.rawValue), responsibility),
                confidence = COALESCE(\(report.confidence), confidence),
                ticket_id = COALESCE(\(report.ticketID), ticket_id),
                message = COALESCE(\(report.message), message),
                severity = COALESCE(\(report.severity), severity),
                correlation_id = COALESCE(correlation_id, \(report.correlationID)),
                timeline = CASE WHEN \(timelineStep)::text IS NULL THEN timeline
                                ELSE timeline || jsonb_build_array(jsonb_build_object('at', \(Self.rfc3339(report.at)), 'text', \(timelineStep)::text)) END,
                resolved_at = CASE WHEN \(report.state?.rawValue) = 'resolved' THEN COALESCE(resolved_at, \(report.at)) ELSE resolved_at END,
                updated_at = NOW()
            WHERE id = \(id)
            RETURNING 1
            """,
            logger: logger
        )
        for try await _ in rows { return true }
        return false
    }

    static func rfc3339(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}
