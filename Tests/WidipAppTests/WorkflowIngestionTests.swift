import Foundation
import HTTPTypes
import PostgresNIO
import Testing

@testable import WidipApp

/// `/api/workflows/events` and Observium's webhook: what the Phase 1 workflows report, stored once and published.
@Suite struct WorkflowIngestionTests {
    static let supportToken = "jeton-support-0123456789abcdef-0123"
    static let sentinelToken = "jeton-sentinel-0123456789abcdef-012"
    static let observiumToken = "jeton-observium-0123456789abcdef-01"

    static func configure(_ config: inout AppConfig) {
        config.workflowTokens = WorkflowTokens(["SUPPORT": supportToken, "SENTINEL": sentinelToken])
        config.supervision.observiumWebhookToken = observiumToken
    }

    /// A notification as Observium's default "Webhook JSON" template writes it: a flat object of strings.
    static func observium(_ state: String, alertID: String = "1187", unixTime: Int = 1_764_858_735, device: String = "SWITCH-MUSIC-001") -> [String: Any] {
        [
            "ALERT_STATE": state, "ALERT_STATE_NAME": state == "RECOVER" ? "Recovered" : "Alert", "ALERT_EMOJI": "🔥", "ALERT_EMOJI_NAME": "fire",
            "ALERT_STATUS": state == "RECOVER" ? "1" : "0", "ALERT_STATUS_CUSTOM": "", "ALERT_SEVERITY": "Critical", "ALERT_COLOR": "cc0000",
            "ALERT_URL": "https://observium.widip.fr/device/device=12/tab=alert/alert_entry=\(alertID)/", "ALERT_UNIXTIME": String(unixTime),
            "ALERT_TIMESTAMP": "2025-12-04 14:32:15 +00:00", "ALERT_TIMESTAMP_RFC2822": "Thu, 04 Dec 2025 14:32:15 +0000",
            "ALERT_TIMESTAMP_RFC3339": "2025-12-04T14:32:15+00:00", "ALERT_ID": alertID, "ALERT_MESSAGE": "Équipement injoignable (ping)",
            "CONDITIONS": "device_status equals 0<br />\nping failed", "METRICS": "device_status = 0", "DURATION": "2m 10s",
            "ENTITY_URL": "https://observium.widip.fr/device/device=12/", "ENTITY_LINK": "<a href=\"https://observium.widip.fr/device/device=12/\">\(device)</a>",
            "ENTITY_NAME": device, "ENTITY_ID": "12", "ENTITY_TYPE": "device", "ENTITY_DESCRIPTION": "Switch cœur de réseau",
            "DEVICE_HOSTNAME": device, "DEVICE_SYSNAME": device.lowercased(), "DEVICE_DESCRIPTION": "Switch cœur", "DEVICE_ID": "12",
            "DEVICE_URL": "https://observium.widip.fr/device/device=12/", "DEVICE_LINK": "<a>\(device)</a>", "DEVICE_HARDWARE": "Cisco WS-C2960X",
            "DEVICE_OS": "Cisco IOS 15.2", "DEVICE_TYPE": "network", "DEVICE_LOCATION": "EHPAD Music Art", "DEVICE_UPTIME": "45 days",
            "DEVICE_REBOOTED": "2025-10-20 09:12:00", "TITLE": "ALERT: [\(device)] Équipement injoignable",
        ]
    }

    static func webhook(_ server: LiveServer, _ body: [String: Any], token: String? = observiumToken) async throws -> HTTPResult {
        var headers = HTTPFields()
        if let token { headers[.authorization] = token }
        return try await server.request(.post, "/api/workflows/webhook/observium", json: body, headers: headers)
    }

    static func count(_ server: LiveServer, _ sql: String) async throws -> Int {
        var total = 0
        for try await value in try await server.services.postgres.query(PostgresQuery(unsafeSQL: sql), logger: TestDatabase.logger).decode(Int.self) {
            total = value
        }
        return total
    }

    /// The supervision events (the test server runs no health monitor of its own).
    static func events(_ server: LiveServer) async throws -> [StoredEvent] {
        try await server.services.events.events(after: 0, channels: ["supervision"], limit: 1000)
    }

    static func eventTypes(_ server: LiveServer) async throws -> [String] {
        try await events(server).map(\.type)
    }

    @Test func aProcessedTicketIsStoredOncePublishedAndARetryGetsTheSameAnswer() async throws {
        try await LiveServer.run(adjust: Self.configure) { server in
            let event: [String: Any] = [
                "type": "workflow:ticket_processed", "event_id": "n8n-exec-4812", "occurred_at": "2026-12-04T13:32:15Z",
                "data": [
                    "ticket_id": "1234", "category": "RESET_MDP", "status": "resolu", "auto_resolved": true, "client": "EHPAD Les Jardins",
                    "action": "ad_reset_password jean.dupont", "duration_ms": 8200,
                ],
            ]
            let first = try await server.request(.post, "/api/workflows/events", json: event, token: Self.supportToken)
            #expect(first.status == .created, "\(first.text)")
            #expect(first.json["duplicate"] as? Bool == false)
            let outcome = first.json["outcome"] as? [String: Any]
            #expect(outcome?["correlation_id"] as? String == "TKT-1234")

            let retry = try await server.request(.post, "/api/workflows/events", json: event, token: Self.supportToken)
            #expect(retry.status == .ok)
            #expect(retry.json["duplicate"] as? Bool == true)
            #expect((retry.json["outcome"] as? [String: Any])?["log_id"] as? Int == outcome?["log_id"] as? Int)

            #expect(try await Self.count(server, "SELECT count(*)::int FROM widip_agent_logs") == 1)
            let row = try await server.services.postgres.query(
                "SELECT workflow, category, status, auto_resolved, client_name, created_at FROM widip_agent_logs", logger: TestDatabase.logger
            )
            for try await (workflow, category, status, auto, client, at) in row.decode((String, String, String, Bool, String, Date).self) {
                #expect(workflow == "SUPPORT" && category == "RESET_MDP" && status == "resolu" && auto && client == "EHPAD Les Jardins")
                #expect(at == StrictDate.parse("2026-12-04T13:32:15Z", dayIn: .gmt))
            }
            #expect(try await Self.eventTypes(server) == ["workflow:ticket_processed"])
        }
    }

    @Test func malformedEventsAreRefusedNamingTheFieldAndNothingIsWritten() async throws {
        try await LiveServer.run(adjust: Self.configure) { server in
            let valid: [String: Any] = ["ticket_id": "1", "category": "DEBLOCAGE", "status": "resolu"]
            let cases: [(body: [String: Any], field: String)] = [
                (["type": "workflow:ticket_processed", "data": valid], "event_id"),
                (["type": "workflow:unknown", "event_id": "a", "data": valid], "type"),
                (["type": "workflow:ticket_processed", "event_id": "b", "data": valid.merging(["category": "MOT_DE_PASSE"]) { $1 }], "data.category"),
                (["type": "workflow:ticket_processed", "event_id": "c", "data": ["category": "AUTRE", "status": "resolu"]], "data.ticket_id"),
                (["type": "workflow:ticket_processed", "event_id": "d", "data": valid.merging(["duration_ms": -4]) { $1 }], "data.duration_ms"),
                (["type": "workflow:ticket_processed", "event_id": "e", "occurred_at": "2026-13-40T00:00:00Z", "data": valid], "occurred_at"),
                (["type": "workflow:ticket_processed", "event_id": "f", "occurred_at": "2999-01-01T00:00:00Z", "data": valid], "occurred_at"),
                (["type": "workflow:alert_detected", "event_id": "g", "data": ["alert_id": "9", "responsibility": "Voisin"]], "data.responsibility"),
                (["type": "workflow:alert_detected", "event_id": "h", "data": ["alert_id": "9", "confidence": 140]], "data.confidence"),
                // Nothing is open for this alert: opening one needs the device.
                (["type": "workflow:alert_detected", "event_id": "i", "data": ["alert_id": "9", "state": "open"]], "data.device"),
                (["type": "workflow:health_change", "event_id": "j", "data": ["dependency": "glpi", "status": "vert"]], "data.status"),
                (["type": "workflow:error", "event_id": "k", "data": ["message": "a\u{0}b"]], "data.message"),
                (["type": "workflow:ticket_processed", "event_id": "l", "data": valid.merging(["client": String(repeating: "x", count: 201)]) { $1 }], "data.client"),
            ]
            for (body, field) in cases {
                let response = try await server.request(.post, "/api/workflows/events", json: body, token: Self.supportToken)
                #expect(response.status == .badRequest, "\(field): \(response.text)")
                #expect(response.errorField == field, "\(response.text)")
            }
            #expect(try await Self.count(server, "SELECT count(*)::int FROM widip_agent_logs") == 0)
            #expect(try await Self.count(server, "SELECT count(*)::int FROM incident_logs") == 0)
            #expect(try await Self.count(server, "SELECT count(*)::int FROM workflow_event_receipts") == 0)
            #expect(try await Self.eventTypes(server).isEmpty)
        }
    }

    @Test func onlyAWorkflowTokenMayReportEvents() async throws {
        try await LiveServer.run(adjust: Self.configure) { server in
            let event: [String: Any] = ["type": "workflow:error", "event_id": "x", "data": ["message": "Timeout MCP"]]
            #expect(try await server.request(.post, "/api/workflows/events", json: event).status == .unauthorized)
            let (_, token) = try await server.signedIn(.n4)
            #expect(try await server.request(.post, "/api/workflows/events", json: event, token: token).errorCode == "workflow_only")
            // Observium's webhook token is not a workflow token.
            #expect(try await server.request(.post, "/api/workflows/events", json: event, token: Self.observiumToken).status == .unauthorized)
            #expect(try await Self.count(server, "SELECT count(*)::int FROM workflow_errors") == 0)
        }
    }

    @Test func rowsPhaseOneWritesDirectlyArePublishedLikeReportedOnes() async throws {
        try await LiveServer.run(adjust: Self.configure) { server in
            try await server.services.postgres.query(
                """
                INSERT INTO widip_agent_logs (ticket_id, category, status, auto_resolved, client_name, action)
                VALUES ('1233', 'DEBLOCAGE', 'resolu', true, 'Clinique St-Joseph', 'ad_unlock_account')
                """,
                logger: TestDatabase.logger
            )
            try await server.services.postgres.query(
                "INSERT INTO incident_logs (alert_id, device_name, client_name, status) VALUES ('77', 'SWITCH-CLIN-002', 'Clinique St-Joseph', 'open')",
                logger: TestDatabase.logger
            )
            try await server.services.postgres.query("UPDATE incident_logs SET status = 'resolved', resolved_at = NOW()", logger: TestDatabase.logger)
            // A write that changes nothing a dashboard shows is not an event.
            try await server.services.postgres.query("UPDATE incident_logs SET updated_at = NOW()", logger: TestDatabase.logger)
            let events = try await Self.events(server)
            #expect(events.map(\.type) == ["workflow:ticket_processed", "workflow:alert_detected", "workflow:alert_updated"])
            #expect(events.allSatisfy { $0.minimumLevel == .n3 })
            #expect(events.first?.dataJSON.contains("\"client\": \"Clinique St-Joseph\"") == true)
        }
    }

    @Test func observiumOpensAnIncidentReminderAndRetryChangeNothingRecoveryResolvesIt() async throws {
        try await LiveServer.run(adjust: Self.configure) { server in
            let opened = try await Self.webhook(server, Self.observium("ALERT"))
            #expect(opened.status == .created, "\(opened.text)")
            let outcome = opened.json["outcome"] as? [String: Any]
            #expect(outcome?["change"] as? String == "opened")
            #expect(outcome?["correlation_id"] as? String == "ALR-1187-1764858735")

            // Observium retrying the same delivery, then a reminder of the same alert ten minutes later.
            let retried = try await Self.webhook(server, Self.observium("ALERT"))
            #expect(retried.status == .ok && retried.json["duplicate"] as? Bool == true)
            let reminder = try await Self.webhook(server, Self.observium("ALERT REMINDER", unixTime: 1_764_859_335))
            #expect(reminder.status == .ok && (reminder.json["outcome"] as? [String: Any])?["change"] as? String == "unchanged")
            #expect(try await Self.count(server, "SELECT count(*)::int FROM incident_logs") == 1)

            let recovered = try await Self.webhook(server, Self.observium("RECOVER", unixTime: 1_764_861_435))
            #expect(recovered.status == .ok && (recovered.json["outcome"] as? [String: Any])?["change"] as? String == "resolved")
            // A late retry of the first notification does not reopen it.
            let late = try await Self.webhook(server, Self.observium("ALERT", unixTime: 1_764_858_000))
            #expect((late.json["outcome"] as? [String: Any])?["change"] as? String == "unchanged")

            let rows = try await server.services.postgres.query(
                "SELECT device_name, client_name, status, responsibility, detected_at, resolved_at, jsonb_array_length(timeline) FROM incident_logs",
                logger: TestDatabase.logger
            )
            for try await (device, client, status, responsibility, detected, resolved, steps) in rows.decode((String, String, String, String, Date, Date?, Int).self) {
                #expect(device == "SWITCH-MUSIC-001" && client == "EHPAD Music Art" && status == "resolved" && responsibility == "Indéterminé")
                #expect(detected == Date(timeIntervalSince1970: 1_764_858_735))
                #expect(resolved == Date(timeIntervalSince1970: 1_764_861_435))
                #expect(steps == 2)
            }
            #expect(try await Self.eventTypes(server) == ["workflow:alert_detected", "workflow:alert_updated"])

            // The same alert firing again later is a new incident.
            let again = try await Self.webhook(server, Self.observium("ALERT", unixTime: 1_764_900_000))
            #expect((again.json["outcome"] as? [String: Any])?["change"] as? String == "opened")
            #expect(try await Self.count(server, "SELECT count(*)::int FROM incident_logs WHERE resolved_at IS NULL") == 1)
        }
    }

    @Test func observiumWebhookNeedsItsTokenAndRefusesMalformedNotificationsWhole() async throws {
        try await LiveServer.run(adjust: Self.configure) { server in
            #expect(try await Self.webhook(server, Self.observium("ALERT"), token: nil).errorCode == "invalid_webhook_token")
            #expect(try await Self.webhook(server, Self.observium("ALERT"), token: Self.supportToken).status == .unauthorized)
            #expect(try await Self.webhook(server, Self.observium("ALERT"), token: "Bearer " + Self.observiumToken).status == .created)

            var missing = Self.observium("ALERT", alertID: "2")
            missing.removeValue(forKey: "ALERT_ID")
            var badTime = Self.observium("ALERT", alertID: "3")
            badTime["ALERT_UNIXTIME"] = "hier"
            var nested = Self.observium("ALERT", alertID: "4")
            nested["DEVICE_HOSTNAME"] = ["name": "x"]
            var unknownState = Self.observium("ALERT", alertID: "5")
            unknownState["ALERT_STATE"] = "MAYBE"
            for (body, field) in [(missing, "ALERT_ID"), (badTime, "ALERT_UNIXTIME"), (nested, "DEVICE_HOSTNAME"), (unknownState, "ALERT_STATE")] {
                let response = try await Self.webhook(server, body)
                #expect(response.status == .badRequest && response.errorField == field, "\(response.text)")
            }
            let notAnObject = try await server.request(
                .post, "/api/workflows/webhook/observium", body: "[1]", headers: [.authorization: Self.observiumToken, .contentType: "application/json"]
            )
            #expect(notAnObject.status == .badRequest)
            #expect(try await Self.count(server, "SELECT count(*)::int FROM incident_logs") == 1)
            #expect(try await Self.count(server, "SELECT count(*)::int FROM workflow_event_receipts") == 1)
        }
        // Without a configured token the webhook is off, whatever is presented.
        try await LiveServer.run(adjust: { config in config.supervision.observiumWebhookToken = nil }) { server in
            let response = try await Self.webhook(server, Self.observium("ALERT"), token: Self.observiumToken)
            #expect(response.errorCode == "webhook_disabled")
        }
    }

    @Test func sentinelCompletesTheIncidentAndTheTicketItOpenedContinuesTheAlertsThread() async throws {
        try await LiveServer.run(adjust: Self.configure) { server in
            _ = try await Self.webhook(server, Self.observium("ALERT"))
            let report: [String: Any] = [
                "type": "workflow:alert_detected", "event_id": "sentinel-1",
                "data": ["alert_id": "1187", "responsibility": "FAI", "confidence": 75, "ticket_id": "4567", "state": "diagnosing", "step": "Ticket #4567 créé"],
            ]
            let updated = try await server.request(.post, "/api/workflows/events", json: report, token: Self.sentinelToken)
            #expect((updated.json["outcome"] as? [String: Any])?["change"] as? String == "updated", "\(updated.text)")

            let ticket: [String: Any] = [
                "type": "workflow:ticket_processed", "event_id": "support-1",
                "data": ["ticket_id": "4567", "category": "#DIAG", "status": "en_cours", "client": "EHPAD Music Art"],
            ]
            let processed = try await server.request(.post, "/api/workflows/events", json: ticket, token: Self.supportToken)
            #expect((processed.json["outcome"] as? [String: Any])?["correlation_id"] as? String == "ALR-1187-1764858735")
            #expect((processed.json["outcome"] as? [String: Any])?["log_id"] != nil)

            let error: [String: Any] = [
                "type": "workflow:error", "event_id": "support-2", "data": ["message": "Timeout MCP", "tool": "glpi_add_followup", "ticket_id": "4567"],
            ]
            #expect(try await server.request(.post, "/api/workflows/events", json: error, token: Self.supportToken).status == .created)
            #expect(try await Self.count(server, "SELECT count(*)::int FROM workflow_errors WHERE correlation_id = 'ALR-1187-1764858735'") == 1)
            #expect(
                try await Self.count(
                    server, "SELECT count(*)::int FROM incident_logs WHERE responsibility = 'FAI' AND confidence = 75 AND status = 'diagnosing' AND ticket_id = '4567'"
                ) == 1
            )
        }
    }

    @Test func aHealthChangeIsPublishedOnlyWhenTheStateChanges() async throws {
        try await LiveServer.run(adjust: Self.configure) { server in
            for (index, status) in ["ok", "ok", "down", "down", "ok"].enumerated() {
                let event: [String: Any] = [
                    "type": "workflow:health_change", "event_id": "health-\(index)", "data": ["dependency": "GLPI", "status": status, "latency_ms": 40 + index],
                ]
                #expect(try await server.request(.post, "/api/workflows/events", json: event, token: Self.supportToken).status == .created)
            }
            let changes = try await Self.events(server)
            #expect(changes.map(\.type) == Array(repeating: "workflow:health_change", count: 3))
            #expect(changes.map { $0.dataJSON.contains("\"status\": \"down\"") } == [false, true, false])
            #expect(try await Self.count(server, "SELECT count(*)::int FROM health_checks WHERE dependency = 'glpi'") == 5)
            #expect(try await Self.count(server, "SELECT count(*)::int FROM health_status WHERE dependency = 'glpi' AND status = 'ok' AND latency_ms = 44") == 1)
        }
    }

    @Test func anAlertPostedToOneInstanceReachesAnAdminWatchingAnother() async throws {
        try await LiveServer.run(adjust: Self.configure) { server in
            let admin = try await server.signedIn(.n3)
            let technician = try await server.signedIn(.n2)
            try await SecondServer.run(sharing: server) { second in
                let watching = TestSocket(port: second.port, path: "/api/supervision/ws", token: admin.token)
                defer { watching.close() }
                #expect(await watching.next(type: "subscribed") != nil)
                // Below N3 the supervision channel is not served.
                let refused = TestSocket(port: second.port, path: "/api/supervision/ws", token: technician.token)
                defer { refused.close() }
                #expect(await refused.wasRefused())

                let posted = try await Self.webhook(server, Self.observium("ALERT", alertID: "x-instance"))
                #expect(posted.status == .created)
                let event = await watching.next(type: "workflow:alert_detected")
                let data = event?["data"] as? [String: Any]
                #expect(data?["alert_id"] as? String == "x-instance" && data?["device"] as? String == "SWITCH-MUSIC-001")
                #expect(event?["channel"] as? String == "supervision")
            }
        }
    }
}
