import Foundation
import HTTPTypes
import PostgresNIO
import Testing

@testable import WidipApp

/// The dashboards' figures against a fixture counted by hand. The period is Sunday 25 October 2026 in Paris, the day
/// clocks go back: 25 hours, from 2026-10-24T22:00Z to 2026-10-25T23:00Z. Rows sit on both boundaries.
@Suite struct SupervisionDashboardTests {
    static let day = "from=2026-10-25&to=2026-10-25"

    static func execute(_ server: LiveServer, _ statements: [String]) async throws {
        for statement in statements {
            do {
                try await server.services.postgres.query(PostgresQuery(unsafeSQL: statement), logger: TestDatabase.logger)
            } catch let error as PSQLError {
                throw TestSetupError("\(error.serverInfo?[.message] ?? String(reflecting: error)) in \(statement.prefix(80))")
            }
        }
    }

    static func seed(_ server: LiveServer) async throws {
        // Rows Phase 1 wrote before the migration's checks existed (they hold values outside the lists).
        try await execute(server, [
            "ALTER TABLE widip_agent_logs DROP CONSTRAINT widip_agent_logs_category_check, DROP CONSTRAINT widip_agent_logs_status_check",
            "ALTER TABLE incident_logs DROP CONSTRAINT incident_logs_responsibility_check",
            "INSERT INTO widip_agent_logs (ticket_id, category, status, client_name, created_at) VALUES ('T6', 'Imprimante', 'fermé', 'Cabinet Dr Martin', '2026-10-25T10:00:00Z')",
            """
            INSERT INTO incident_logs (alert_id, device_name, client_name, status, responsibility, detected_at, resolved_at)
            VALUES ('A4', 'ROUTEUR-JARDINS', 'EHPAD Les Jardins', 'resolved', 'Opérateur', '2026-10-24T22:00:00Z', '2026-10-25T05:00:00Z')
            """,
            "ALTER TABLE widip_agent_logs ADD CONSTRAINT widip_agent_logs_category_check CHECK (category IN ('RESET_MDP', 'DEBLOCAGE', '#DIAG', 'AUTRE')) NOT VALID",
            "ALTER TABLE widip_agent_logs ADD CONSTRAINT widip_agent_logs_status_check CHECK (status IN ('resolu', 'en_cours', 'escalade')) NOT VALID",
            "ALTER TABLE incident_logs ADD CONSTRAINT incident_logs_responsibility_check CHECK (responsibility IN ('FAI', 'Local', 'WIDIP', 'Indéterminé')) NOT VALID",
        ])
        try await execute(server, [
            """
            INSERT INTO widip_agent_logs (ticket_id, category, status, auto_resolved, client_name, created_at) VALUES
                ('T1', 'RESET_MDP', 'resolu', true, 'EHPAD Les Jardins', '2026-10-24T22:00:00Z'),   -- exactly at the start: in
                ('T2', 'RESET_MDP', 'resolu', false, 'EHPAD Les Jardins', '2026-10-25T00:30:00Z'),  -- 02:30 summer time
                ('T3', 'DEBLOCAGE', 'resolu', true, 'Clinique St-Joseph', '2026-10-25T01:30:00Z'),  -- 02:30 winter time, same hour bucket
                ('T4', '#DIAG', 'en_cours', false, 'EHPAD Music Art', '2026-10-25T12:00:00Z'),
                ('T5', 'AUTRE', 'escalade', false, 'Cabinet Dr Martin', '2026-10-25T22:59:59Z'),
                ('T7', 'RESET_MDP', 'resolu', true, 'EHPAD Les Jardins', '2026-10-25T23:00:00Z'),   -- exactly at the end: out
                ('T0', 'DEBLOCAGE', 'resolu', true, 'EHPAD Les Jardins', '2026-10-24T21:59:59Z')    -- the previous period
            """,
            """
            INSERT INTO incident_logs (alert_id, device_name, client_name, status, responsibility, detected_at, resolved_at) VALUES
                ('A1', 'SWITCH-MUSIC-001', 'EHPAD Music Art', 'open', 'FAI', '2026-10-25T08:00:00Z', NULL),
                ('A2', 'BOX-MUSIC-002', 'EHPAD Music Art', 'diagnosing', 'FAI', '2026-10-25T09:00:00Z', NULL),
                ('A3', 'SWITCH-MARTIN', 'Cabinet Dr Martin', 'resolved', 'Local', '2026-10-25T10:00:00Z', '2026-10-25T11:00:00Z'),
                ('A5', 'SWITCH-CLIN', 'Clinique St-Joseph', 'resolved', 'WIDIP', '2026-10-24T10:00:00Z', '2026-10-24T11:00:00Z')
            """,
            """
            INSERT INTO safeguard_approvals (approval_id, tool_name, security_level, status, created_at, decided_at, expires_at, context) VALUES
                ('APR-2026-901', 'ad_copy_groups_from', 'L3', 'pending', '2026-10-25T08:00:00Z', NULL, NOW() + INTERVAL '1 hour', '{"client_name": "EHPAD Music Art"}'),
                ('APR-2026-902', 'ad_reset_password', 'L3', 'executed', '2026-10-25T09:00:00Z', '2026-10-25T09:10:00Z', '2026-10-25T10:00:00Z', '{}'),
                ('APR-2026-903', 'ad_reset_password', 'L3', 'rejected', '2026-10-25T10:00:00Z', '2026-10-25T10:02:00Z', '2026-10-25T11:00:00Z', '{}'),
                ('APR-2026-904', 'glpi_close_ticket', 'L3', 'expired', '2026-10-25T11:00:00Z', NULL, '2026-10-25T12:00:00Z', '{}'),
                ('APR-2026-905', 'ad_disable_account', 'L3', 'executed', '2026-10-25T12:00:00Z', '2026-10-25T12:30:00Z', '2026-10-25T13:00:00Z', '{}')
            """,
        ])
    }

    static func get(_ server: LiveServer, _ path: String, token: String) async throws -> [String: Any] {
        let response = try await server.request(.get, path, token: token)
        guard response.status == .ok else { throw TestSetupError("\(path): \(response.status) \(response.text)") }
        return response.json
    }

    static func figure(_ json: [String: Any], _ key: String) -> (value: Int?, previous: Int?, change: Double?, rows: String?) {
        let figure = json[key] as? [String: Any] ?? [:]
        return (figure["value"] as? Int, figure["previous"] as? Int, figure["change"] as? Double, figure["rows"] as? String)
    }

    /// Follows a figure's link and checks that it lists exactly the rows counted.
    static func expectRows(_ server: LiveServer, _ path: String?, count: Int, token: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        guard let path else {
            Issue.record("no rows link", sourceLocation: sourceLocation)
            return
        }
        let page = try await get(server, path, token: token)
        #expect(page["total"] as? Int == count, "\(path)", sourceLocation: sourceLocation)
        #expect((page["rows"] as? [Any])?.count == count, "\(path)", sourceLocation: sourceLocation)
    }

    @Test func supportCountsTheDayAcrossTheClockChangeWithBoundariesAndPhase1Values() async throws {
        try await LiveServer.run { server in
            try await Self.seed(server)
            let (_, token) = try await server.signedIn(.n3)
            let support = try await Self.get(server, "/api/supervision/support?\(Self.day)", token: token)
            let period = support["period"] as? [String: Any]
            #expect(period?["from"] as? String == "2026-10-24T22:00:00Z" && period?["to"] as? String == "2026-10-25T23:00:00Z")
            #expect(period?["previous_from"] as? String == "2026-10-23T21:00:00Z")

            let tickets = Self.figure(support, "tickets")
            #expect(tickets.value == 6 && tickets.previous == 1 && tickets.change == 500)
            try await Self.expectRows(server, tickets.rows, count: 6, token: token)
            #expect(Self.figure(support, "auto_resolved").value == 2)
            #expect(Self.figure(support, "escalated").value == 1)

            let categories = support["categories"] as? [[String: Any]] ?? []
            #expect(categories.map { $0["category"] as? String } == ["RESET_MDP", "DEBLOCAGE", "#DIAG", "AUTRE"])
            let counts = categories.map { ($0["tickets"] as? [String: Any])?["value"] as? Int }
            #expect(counts == [2, 1, 1, 2])
            let rates = categories.map { $0["auto_resolution_rate"] as? Double }
            #expect(rates == [0.5, 1, nil, 0])
            try await Self.expectRows(server, (categories.last?["tickets"] as? [String: Any])?["rows"] as? String, count: 2, token: token)

            // Hourly columns in Paris time: 24 buckets for 25 hours, the repeated 02:00 hour holding both 02:30s.
            let series = support["series"] as? [[String: Any]] ?? []
            #expect(series.count == 24)
            #expect(series.first?["bucket"] as? String == "2026-10-25T00" && series.first?["count"] as? Int == 1)
            #expect(series.first { $0["bucket"] as? String == "2026-10-25T02" }?["count"] as? Int == 2)
            #expect(series.reduce(0) { $0 + ($1["count"] as? Int ?? 0) } == 6)
            let latest = support["latest"] as? [[String: Any]] ?? []
            #expect(latest.first?["ticket_id"] as? String == "T5" && latest.count == 6)

            // Three days in Paris are 73 hours, counted per day.
            let days = try await Self.get(server, "/api/supervision/support?from=2026-10-24&to=2026-10-26", token: token)
            let perDay = (days["series"] as? [[String: Any]] ?? []).map { "\($0["bucket"] ?? "")=\($0["count"] ?? "")" }
            #expect(perDay == ["2026-10-24T00=1", "2026-10-25T00=6", "2026-10-26T00=1"])
        }
    }

    @Test func sentinelBreaksDownResponsibilityAndGroupsAClientsAlerts() async throws {
        try await LiveServer.run { server in
            try await Self.seed(server)
            let (_, token) = try await server.signedIn(.n3)
            let sentinel = try await Self.get(server, "/api/supervision/sentinel?\(Self.day)", token: token)
            #expect(Self.figure(sentinel, "alerts").value == 4 && Self.figure(sentinel, "alerts").previous == 1)
            #expect(Self.figure(sentinel, "open").value == 1)
            #expect(Self.figure(sentinel, "diagnosing").value == 1)
            #expect(Self.figure(sentinel, "resolved").value == 2)
            try await Self.expectRows(server, Self.figure(sentinel, "alerts").rows, count: 4, token: token)
            try await Self.expectRows(server, Self.figure(sentinel, "resolved").rows, count: 2, token: token)

            let shares = sentinel["responsibilities"] as? [[String: Any]] ?? []
            #expect(shares.map { $0["responsibility"] as? String } == ["FAI", "Local", "WIDIP", "Indéterminé"])
            #expect(shares.map { $0["share"] as? Double } == [0.5, 0.25, 0, 0.25])
            try await Self.expectRows(server, (shares[0]["alerts"] as? [String: Any])?["rows"] as? String, count: 2, token: token)

            let clients = sentinel["impacted_clients"] as? [[String: Any]] ?? []
            #expect(clients.map { $0["client"] as? String } == ["EHPAD Music Art", "Cabinet Dr Martin", "EHPAD Les Jardins"])
            let music = clients.first ?? [:]
            #expect((music["active_alerts"] as? [String: Any])?["value"] as? Int == 2 && music["diagnosing"] as? Int == 1)
            #expect(music["since"] as? String == "2026-10-25T08:00:00Z" && music["responsibility"] as? String == "FAI")
            try await Self.expectRows(server, (music["active_alerts"] as? [String: Any])?["rows"] as? String, count: 2, token: token)
            #expect(clients[1]["resolved_at"] as? String == "2026-10-25T11:00:00Z" && clients[1]["responsibility"] as? String == "Local")
            #expect(clients[2]["responsibility"] as? String == "Indéterminé")
        }
    }

    @Test func safeguardAnalyticsCountsOutcomesResponseTimesAndTopActions() async throws {
        try await LiveServer.run { server in
            try await Self.seed(server)
            let (_, token) = try await server.signedIn(.n3)
            let safeguard = try await Self.get(server, "/api/supervision/safeguard?\(Self.day)", token: token)
            #expect(Self.figure(safeguard, "requests").value == 5)
            #expect(Self.figure(safeguard, "approved").value == 2)
            #expect(Self.figure(safeguard, "rejected").value == 1)
            #expect(Self.figure(safeguard, "expired").value == 1)
            #expect(Self.figure(safeguard, "pending").value == 1)
            // Decided after 600, 120 and 1800 s: mean 840 s; p90 interpolates between 600 and 1800.
            #expect(safeguard["average_response_seconds"] as? Double == 840)
            #expect(safeguard["p90_response_seconds"] as? Double == 1560)
            let top = safeguard["top_actions"] as? [[String: Any]] ?? []
            #expect(top.map { $0["tool"] as? String } == ["ad_reset_password", "ad_copy_groups_from", "ad_disable_account", "glpi_close_ticket"])
            #expect(top.first?["share"] as? Double == 0.4)
            try await Self.expectRows(server, Self.figure(safeguard, "approved").rows, count: 2, token: token)
            try await Self.expectRows(server, Self.figure(safeguard, "pending").rows, count: 1, token: token)
            let pending = safeguard["pending_first"] as? [[String: Any]] ?? []
            #expect(pending.first?["approval_id"] as? String == "APR-2026-901" && pending.first?["client"] as? String == "EHPAD Music Art")
        }
    }

    @Test func overviewSumsTheWorkflowsAndItsFeedStartsWithTheLatestActivity() async throws {
        try await LiveServer.run { server in
            try await Self.seed(server)
            let (_, token) = try await server.signedIn(.n3)
            let overview = try await Self.get(server, "/api/supervision/overview?\(Self.day)", token: token)
            #expect(Self.figure(overview, "tickets").value == 6 && Self.figure(overview, "tickets").previous == 1)
            #expect(Self.figure(overview, "alerts").value == 4 && Self.figure(overview, "alerts").change == 300)
            #expect(Self.figure(overview, "approvals_pending").value == 1)
            let activity = overview["activity"] as? [[String: Any]] ?? []
            #expect(activity.first?["text"] as? String == "Ticket #T7 (RESET_MDP) résolu — EHPAD Les Jardins")
            #expect(activity.first?["link"] as? String == "/supervision/suivi?ticket=T7")
            #expect(activity.count == SupervisionService.feedLength)
        }
    }

    @Test func enrichisseurCountsTheKnowledgeBaseItsRunsRAGUseAndFlaggedSources() async throws {
        try await LiveServer.run(adjust: { $0.workflowTokens = WorkflowTokens(["ENRICHISSEUR": "jeton-enrichisseur-0123456789abcdef"]) }) { server in
            let (user, token) = try await server.signedIn(.n3)
            try await Self.execute(server, [
                """
                INSERT INTO widip_knowledge_base (source_key, chunk_index, content, title, source_type, created_at) VALUES
                    ('p/1', 0, 'Réinitialiser un mot de passe', 'Procédure MDP', 'procedure', '2026-10-25T09:00:00Z'),
                    ('p/2', 0, 'Débloquer un compte', 'Procédure déblocage', 'procedure', '2026-10-01T09:00:00Z'),
                    ('t/1', 0, 'Switch redémarré', 'Ticket 88', 'ticket', '2026-09-01T09:00:00Z')
                """,
                "INSERT INTO knowledge_feedback (knowledge_id, source_key, title, user_id) SELECT id, source_key, title, \(user.id) FROM widip_knowledge_base WHERE source_key = 'p/2'",
                "INSERT INTO conversations (id, user_id, title, mode) VALUES ('00000000-0000-0000-0000-000000000001', \(user.id), 'Test', 'assistant')",
                """
                INSERT INTO messages (conversation_id, role, content, mode, rag_used, created_at) VALUES
                    ('00000000-0000-0000-0000-000000000001', 'user', 'Question', 'assistant', false, '2026-10-25T09:00:00Z'),
                    ('00000000-0000-0000-0000-000000000001', 'assistant', 'Réponse sourcée', 'assistant', true, '2026-10-25T09:01:00Z'),
                    ('00000000-0000-0000-0000-000000000001', 'assistant', 'Réponse seule', 'assistant', false, '2026-10-25T09:05:00Z')
                """,
            ])
            let run: [String: Any] = [
                "type": "workflow:ingestion_run", "event_id": "run-1", "occurred_at": "2026-10-25T10:00:00Z",
                "data": ["run_id": "nightly-1025", "source": "glpi_tickets", "added": 12, "updated": 3, "started_at": "2026-10-25T09:58:00Z"],
            ]
            #expect(try await server.request(.post, "/api/workflows/events", json: run, token: "jeton-enrichisseur-0123456789abcdef").status == .created)

            let report = try await Self.get(server, "/api/supervision/enrichisseur?\(Self.day)", token: token)
            #expect(report["entries"] as? Int == 3 && Self.figure(report, "added").value == 1)
            let sources = (report["sources"] as? [[String: Any]] ?? []).map { "\($0["source"] ?? "")=\($0["entries"] ?? "")/+\($0["added"] ?? "")" }
            #expect(sources == ["procedure=2/+1", "ticket=1/+0"])
            #expect(Self.figure(report, "assistant_answers").value == 2 && Self.figure(report, "answers_with_sources").value == 1)
            #expect(report["obsolete"] as? Int == 1)
            #expect((report["obsolete_sources"] as? [[String: Any]])?.first?["title"] as? String == "Procédure déblocage")
            let runs = report["runs"] as? [[String: Any]] ?? []
            #expect(runs.first?["run_id"] as? String == "nightly-1025" && runs.first?["added"] as? Int == 12 && runs.first?["status"] as? String == "success")
        }
    }

    @Test func drilldownsExportCSVAndRefuseUnknownFilters() async throws {
        try await LiveServer.run { server in
            try await Self.seed(server)
            let (_, token) = try await server.signedIn(.n3)
            let csv = try await server.request(.get, "/api/supervision/tickets?\(Self.day)&category=AUTRE&format=csv", token: token)
            #expect(csv.headers[.contentType] == "text/csv; charset=utf-8")
            let lines = csv.text.split(separator: "\r\n")
            #expect(lines.count == 3, "\(csv.text)")
            #expect(lines.first?.hasPrefix("\u{FEFF}Date;Ticket;Catégorie") == true)
            #expect(lines.contains { $0.contains(";T6;AUTRE;en cours;;Cabinet Dr Martin;") })
            for (path, field) in [
                ("/api/supervision/tickets?category=MDP", "category"), ("/api/supervision/alerts?state=ferme", "state"),
                ("/api/supervision/tickets?limit=0", "limit"), ("/api/supervision/support?period=1y", "period"),
                ("/api/supervision/support?from=2026-10-26&to=2026-10-25", "to"), ("/api/supervision/timeline", "ticket_id"),
                ("/api/supervision/overview?from=2026-10-25", "to"),
            ] {
                let response = try await server.request(.get, path, token: token)
                #expect(response.status == .badRequest && response.errorField == field, "\(path): \(response.text)")
            }
            let (_, technician) = try await server.signedIn(.n2)
            #expect(try await server.request(.get, "/api/supervision/overview", token: technician).errorCode == "insufficient_level")
        }
    }

    @Test func aTimelineFollowsAnAlertThroughItsTicketToTheApprovalAndItsExecution() async throws {
        try await LiveServer.run(adjust: WorkflowIngestionTests.configure) { server in
            _ = try await WorkflowIngestionTests.webhook(server, WorkflowIngestionTests.observium("ALERT"))
            let report: [String: Any] = [
                "type": "workflow:alert_detected", "event_id": "s-1",
                "data": ["alert_id": "1187", "responsibility": "Local", "confidence": 90, "ticket_id": "4566", "step": "Ticket #4566 créé"],
            ]
            _ = try await server.request(.post, "/api/workflows/events", json: report, token: WorkflowIngestionTests.sentinelToken)
            let ticket: [String: Any] = [
                "type": "workflow:ticket_processed", "event_id": "t-1", "data": ["ticket_id": "4566", "category": "#DIAG", "status": "en_cours"],
            ]
            _ = try await server.request(.post, "/api/workflows/events", json: ticket, token: WorkflowIngestionTests.supportToken)
            try await Self.execute(server, [
                """
                INSERT INTO safeguard_approvals (approval_id, tool_name, status, context, created_at, decided_at, executed_at, expires_at)
                VALUES ('APR-2026-950', 'glpi_close_ticket', 'executed', '{"ticket_id": "4566"}', '2025-12-04T15:00:00Z', '2025-12-04T15:05:00Z',
                        '2025-12-04T15:05:02Z', '2025-12-04T16:00:00Z')
                """,
                // Another alert's ticket is not in this thread.
                "INSERT INTO widip_agent_logs (ticket_id, category, status, created_at) VALUES ('9999', 'AUTRE', 'resolu', '2025-12-04T15:00:00Z')",
            ])
            _ = try await WorkflowIngestionTests.webhook(server, WorkflowIngestionTests.observium("RECOVER", unixTime: 1_764_870_000))

            let (_, token) = try await server.signedIn(.n3)
            for query in ["alert_id=1187", "ticket_id=4566", "correlation_id=ALR-1187-1764858735"] {
                let timeline = try await Self.get(server, "/api/supervision/timeline?\(query)", token: token)
                let kinds = (timeline["entries"] as? [[String: Any]] ?? []).map { $0["kind"] as? String ?? "" }
                #expect(kinds.first == "alert", "\(query)")
                #expect(Set(kinds) == ["alert", "step", "ticket", "request", "decision", "execution", "recovery"], "\(query): \(kinds)")
                #expect(kinds.count == 9, "\(query): \(kinds)")
            }
        }
    }

    @Test func theHourlyCountsFollowUpdatesDeletesAndTruncationAndAgreeWithTheRows() async throws {
        try await LiveServer.run { server in
            try await Self.seed(server)
            let (_, token) = try await server.signedIn(.n3)
            try await Self.execute(server, [
                // A #DIAG ticket resolved later, an alert's responsibility known after the fact, a row removed.
                "UPDATE widip_agent_logs SET status = 'resolu', auto_resolved = true WHERE ticket_id = 'T4'",
                "UPDATE incident_logs SET responsibility = 'WIDIP', status = 'resolved', resolved_at = '2026-10-25T12:00:00Z' WHERE alert_id = 'A2'",
                "DELETE FROM widip_agent_logs WHERE ticket_id = 'T5'",
                "UPDATE safeguard_approvals SET status = 'expired' WHERE approval_id = 'APR-2026-901'",
            ])
            let support = try await Self.get(server, "/api/supervision/support?\(Self.day)", token: token)
            #expect(Self.figure(support, "tickets").value == 5 && Self.figure(support, "escalated").value == 0)
            let categories = support["categories"] as? [[String: Any]] ?? []
            #expect(categories.map { $0["auto_resolved"] as? Int } == [1, 1, 1, 0])
            let sentinel = try await Self.get(server, "/api/supervision/sentinel?\(Self.day)", token: token)
            #expect(Self.figure(sentinel, "diagnosing").value == 0 && Self.figure(sentinel, "resolved").value == 3)
            let shares = (sentinel["responsibilities"] as? [[String: Any]] ?? []).map { ($0["alerts"] as? [String: Any])?["value"] as? Int }
            #expect(shares == [1, 1, 1, 1])
            let safeguard = try await Self.get(server, "/api/supervision/safeguard?\(Self.day)", token: token)
            #expect(Self.figure(safeguard, "expired").value == 2)

            // Every period's figures equal the rows behind them, whatever minute it starts and ends on.
            for (from, to) in [("2026-10-24T22:17:00Z", "2026-10-25T12:45:30Z"), ("2026-10-25T00:10:00Z", "2026-10-25T00:50:00Z"),
                               ("2026-10-25T01:00:00Z", "2026-10-25T13:00:00Z"), ("2026-10-25T01:30:00Z", "2026-10-25T02:15:00Z")] {
                let query = "from=\(from)&to=\(to)"
                let figures = try await Self.get(server, "/api/supervision/support?\(query)", token: token)
                try await Self.expectRows(server, Self.figure(figures, "tickets").rows, count: Self.figure(figures, "tickets").value ?? -1, token: token)
                let alerts = try await Self.get(server, "/api/supervision/sentinel?\(query)", token: token)
                try await Self.expectRows(server, Self.figure(alerts, "alerts").rows, count: Self.figure(alerts, "alerts").value ?? -1, token: token)
            }

            try await Self.execute(server, ["TRUNCATE widip_agent_logs"])
            let emptied = try await Self.get(server, "/api/supervision/support?\(Self.day)", token: token)
            #expect(Self.figure(emptied, "tickets").value == 0)
        }
    }

    @Test func theFiveDashboardsAndTheirDrilldownsRenderTheFiguresEscaped() async throws {
        try await LiveServer.run { server in
            try await Self.seed(server)
            try await Self.execute(server, [
                "INSERT INTO widip_agent_logs (ticket_id, category, status, client_name, created_at) VALUES ('T9', 'AUTRE', 'resolu', '<script>alert(1)</script>', '2026-10-25T12:30:00Z')",
            ])
            let (_, token) = try await server.signedIn(.n3)
            let pages: [(String, [String])] = [
                ("/supervision", ["ensemble", ">7</a>", "Activité en temps réel", "href=\"/supervision/tickets?from=2026-10-24T22:00:00Z&amp;to=2026-10-25T23:00:00Z\""]),
                ("/supervision/support", ["Par catégorie", "RESET_MDP", "N/A", "&lt;script&gt;alert(1)&lt;/script&gt;"]),
                ("/supervision/sentinel", ["Clients impactés", "EHPAD Music Art", "2 alertes actives", "Responsabilité"]),
                ("/supervision/enrichisseur", ["Base de connaissances par source", "Dernières ingestions"]),
                ("/supervision/safeguard", ["Approbations en attente", "APR-2026-901", "Temps de réponse", "ad_reset_password"]),
            ]
            for (path, expected) in pages {
                let page = try await server.request(.get, "\(path)?\(Self.day)", token: token)
                #expect(page.status == .ok, "\(path): \(page.status)")
                for text in expected { #expect(page.text.contains(text), "\(path) lacks \(text)") }
                #expect(!page.text.contains("<script>alert(1)"), "\(path) shows the client's name unescaped")
                #expect(page.text.contains("supervision-live.js"))
            }
            let rows = try await server.request(.get, "/supervision/tickets?\(Self.day)&category=AUTRE", token: token)
            #expect(rows.text.contains("3 tickets") && rows.text.contains("format=csv"), "\(rows.text)")
            let timeline = try await server.request(.get, "/supervision/suivi?ticket=T9", token: token)
            #expect(timeline.status == .ok && timeline.text.contains("Ticket #T9 (AUTRE) résolu"))
            // A bad period shows the page with the default period and says why.
            let bad = try await server.request(.get, "/supervision?period=1y", token: token)
            #expect(bad.status == .badRequest && bad.text.contains("Période attendue"))
        }
    }
}

@Suite struct SupervisionDemoTests {
    @Test func theSeedWritesThirtyDaysOnceAndTheLiveDemoPostsToTheServer() async throws {
        try await LiveServer.run(adjust: { config in
            config.workflowTokens = WorkflowTokens(["SUPPORT": WorkflowIngestionTests.supportToken, "SENTINEL": WorkflowIngestionTests.sentinelToken])
            config.supervision.observiumWebhookToken = WorkflowIngestionTests.observiumToken
        }) { server in
            let demo = SupervisionDemo(services: server.services)
            #expect(try await demo.seedIfEmpty())
            #expect(try await demo.seedIfEmpty() == false, "a second seed adds nothing")
            let (_, token) = try await server.signedIn(.n3)
            let month = try await SupervisionDashboardTests.get(server, "/api/supervision/overview?period=30d", token: token)
            let tickets = SupervisionDashboardTests.figure(month, "tickets").value ?? 0
            #expect(tickets > 600, "\(tickets) tickets in 30 days")
            let sentinel = try await SupervisionDashboardTests.get(server, "/api/supervision/sentinel?period=30d", token: token)
            #expect((SupervisionDashboardTests.figure(sentinel, "alerts").value ?? 0) > 40)
            // The demo MCP server's two devices that are down are the two incidents still open.
            let open = try await SupervisionDashboardTests.get(server, "/api/supervision/alerts?state=active", token: token)
            let devices = (open["rows"] as? [[String: Any]] ?? []).compactMap { $0["device"] as? String }.sorted()
            #expect(devices == ["AP-MUSICART-RDC", "SWITCH-EHPAD-ROSERAIE"])
            let shares = (sentinel["responsibilities"] as? [[String: Any]] ?? []).compactMap { ($0["alerts"] as? [String: Any])?["value"] as? Int }
            #expect(shares.allSatisfy { $0 > 0 }, "every responsibility occurs: \(shares)")

            let before = try await server.services.events.latestID()
            try await demo.live(baseURL: "http://127.0.0.1:\(server.port)", interval: .seconds(1), iterations: 3)
            let published = try await server.services.events.events(after: before, channels: ["supervision"], limit: 100)
            #expect(published.count >= 3, "\(published.map(\.type))")
        }
    }
}
