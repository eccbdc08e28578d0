import AsyncHTTPClient
import Foundation
import NIOCore
import PostgresNIO

/// A living demo for SUPERVISION on the embedded database (`./run`): thirty days of coherent history for the demo
/// clients (`widip demo seed`), then new events every few seconds (`widip demo live`). Everything goes in as the
/// workflows send it: Observium's webhook body, the workflows' event bodies, decoded and validated by the same code as
/// the HTTP routes; the live demo sends them over HTTP to the running server.
public struct SupervisionDemo: Sendable {
    let services: AppServices

    public init(services: AppServices) {
        self.services = services
    }

    /// The demo estate (the demo MCP server's clients and devices).
    static let sites: [(client: String, devices: [String])] = [
        ("EHPAD Les Jardins", ["SWITCH-EHPAD-JARDINS", "SRV-EHPAD-JARDINS-01"]),
        ("Clinique Saint-Jean", ["SWITCH-CLIN-STJEAN", "FW-CLIN-STJEAN", "SRV-CLIN-STJEAN-DPI"]),
        ("EHPAD Music Art", ["AP-MUSICART-RDC", "SWITCH-EHPAD-MUSICART"]),
        ("Cabinet Dr Martin", ["RTR-CAB-MARTIN", "NAS-CAB-MARTIN"]),
        ("Clinique Saint-Joseph", ["SWITCH-CLIN-STJOSEPH-2", "SRV-CLIN-STJOSEPH-DC01"]),
        ("EHPAD Les Oliviers", ["FW-EHPAD-OLIVIERS"]),
        ("Résidence Le Clos Fleuri", ["SWITCH-CLOS-FLEURI"]),
        ("Clinique du Parc", ["SRV-CLIN-PARC-01"]),
        ("Centre de Radiologie Sainte-Anne", ["PACS-RADIO-STEANNE"]),
        ("EHPAD La Roseraie", ["SWITCH-EHPAD-ROSERAIE"]),
    ]

    static let actions: [TicketCategory: [String]] = [
        .resetPassword: ["ad_reset_password", "ad_reset_password + ad_unlock_account"],
        .unlock: ["ad_unlock_account", "ad_get_user_info + ad_unlock_account"],
        .diagnosis: ["Courriel de diagnostic envoyé au client", "observium_get_device_status + courriel #DIAG"],
        .other: ["Transmis au technicien d'astreinte", "Qualifié et assigné au niveau 2"],
    ]

    static let errors: [(message: String, tool: String?, recovered: Bool, attempts: Int?)] = [
        ("Timeout MCP", "ad_reset_password", false, nil),
        ("GLPI API Error 500", "glpi_add_followup", true, 3),
        ("Observium ne répond pas", "observium_get_device_status", true, 2),
        ("Compte introuvable dans l'Active Directory", "ad_get_user_info", false, nil),
    ]

    static let responsibilities: [(Responsibility, Int)] = [(.isp, 45), (.local, 25), (.widip, 15), (.undetermined, 15)]

    // MARK: Seed

    /// Thirty days of history, once: nothing is written when the workflow tables already hold rows.
    @discardableResult
    public func seedIfEmpty(days: Int = 30, now: Date = Date()) async throws -> Bool {
        var existing = 0
        for try await count in try await services.postgres.query(
            "SELECT (SELECT count(*) FROM widip_agent_logs) + (SELECT count(*) FROM incident_logs)", logger: services.logger
        ).decode(Int.self) { existing = count }
        guard existing == 0 else { return false }
        var generator = DemoGenerator(seed: 20_261_204, now: now)
        let ingestion = WorkflowIngestion(repository: WorkflowRepository(client: services.postgres, logger: services.logger), logger: services.logger)
        for delivery in generator.history(days: days) {
            switch delivery {
            case .event(let workflow, let body):
                let input = try JSONDecoder().decode(WorkflowEventInput.self, from: JSONEncoder().encode(body))
                _ = try await ingestion.receive(try input.validated(now: now), eventID: try input.validatedEventID(), from: workflow)
            case .observium(let body):
                guard case .object(let fields) = body else { continue }
                _ = try await ingestion.receive(try ObserviumAlert.parse(fields))
            }
        }
        return true
    }

    // MARK: Live

    /// Sends an event to the server at `baseURL` every `interval` (about), until cancelled: mostly processed
    /// tickets, now and then an Observium alert (recovered a few minutes later), a SENTINEL diagnosis, an error.
    public func live(baseURL: String, interval: Duration, iterations: Int? = nil) async throws {
        let tokens = services.config.workflowTokens
        guard let observium = services.config.supervision.observiumWebhookToken else {
            throw AppError(.badRequest, "OBSERVIUM_WEBHOOK_TOKEN manquant : la démo envoie les alertes par le webhook Observium.")
        }
        for workflow in ["SUPPORT", "SENTINEL"] where tokens.token(of: workflow) == nil {
            throw AppError(.badRequest, "WORKFLOW_TOKENS doit contenir un jeton pour \(workflow) : la démo envoie ses événements en son nom.")
        }
        var generator = DemoGenerator(seed: UInt64(Date().timeIntervalSince1970), now: Date())
        var count = 0
        while iterations.map({ count < $0 }) ?? true {
            count += 1
            generator.now = Date()
            for delivery in generator.next() {
                let (path, token, body): (String, String?, JSONValue) = switch delivery {
                case .event(let workflow, let body): ("/api/workflows/events", tokens.token(of: workflow).map { "Bearer \($0)" }, body)
                case .observium(let body): ("/api/workflows/webhook/observium", observium, body)
                }
                var request = HTTPClientRequest(url: baseURL + path)
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/json")
                if let token { request.headers.add(name: "Authorization", value: token) }
                request.body = .bytes(ByteBuffer(string: body.jsonText))
                do {
                    let response = try await services.httpClient.execute(request, timeout: .seconds(10))
                    let text = String(buffer: try await response.body.collect(upTo: 64 * 1024))
                    if response.status.code >= 400 { services.logger.warning("Démo : \(path) a répondu \(response.status.code) : \(text)") }
                } catch {
                    services.logger.warning("Démo : \(baseURL) injoignable (\(error)) ; nouvel essai au prochain événement.")
                }
            }
            try await Task.sleep(for: generator.pause(around: interval))
        }
    }
}

/// What the demo sends: an event of a workflow, or an Observium notification.
enum DemoDelivery: Sendable {
    case event(workflow: String, body: JSONValue)
    case observium(JSONValue)
}

/// Deterministic for a seed: the same history every time, so screenshots and the README's figures do not drift.
struct DemoGenerator: Sendable {
    private var state: UInt64
    var now: Date
    private var ticketNumber = 3000
    private var alertNumber = 5000
    private var eventNumber = 0
    /// Alerts fired and not yet recovered (live demo): recovered after a few ticks.
    private var firing: [(alertID: String, device: String, client: String, ticks: Int, unix: Int)] = []

    init(seed: UInt64, now: Date) {
        state = seed
        self.now = now
    }

    mutating func random() -> UInt64 {
        // SplitMix64.
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func uniform() -> Double { Double(random() >> 11) / Double(1 << 53) }
    mutating func int(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(random() % UInt64(range.count)) }
    mutating func pick<T>(_ items: [T]) -> T { items[int(0...(items.count - 1))] }

    mutating func weighted<T>(_ items: [(T, Int)]) -> T {
        var roll = int(1...items.reduce(0) { $0 + $1.1 })
        for (item, weight) in items {
            roll -= weight
            if roll <= 0 { return item }
        }
        return items[items.count - 1].0
    }

    mutating func pause(around interval: Duration) -> Duration {
        .milliseconds(Int(Double(interval.components.seconds * 1000) * (0.5 + uniform())))
    }

    private mutating func eventID(_ prefix: String) -> String {
        eventNumber += 1
        return "demo-\(prefix)-\(Int(now.timeIntervalSince1970))-\(eventNumber)"
    }

    static func iso(_ date: Date) -> JSONValue { .string(FrenchFormat.iso(date)) }

    // MARK: Bodies, as the workflows write them

    mutating func ticket(at: Date) -> DemoDelivery {
        ticketNumber += 1
        let category = weighted([(TicketCategory.resetPassword, 35), (.unlock, 25), (.diagnosis, 22), (.other, 18)])
        let outcome: TicketOutcome
        let auto: Bool
        switch category {
        case .resetPassword: (outcome, auto) = uniform() < 0.96 ? (.resolved, true) : (.escalated, false)
        case .unlock: (outcome, auto) = uniform() < 0.98 ? (.resolved, true) : (.inProgress, false)
        case .diagnosis: (outcome, auto) = uniform() < 0.7 ? (.inProgress, false) : (.resolved, false)
        case .other: (outcome, auto) = uniform() < 0.6 ? (.escalated, false) : (.inProgress, false)
        }
        return .event(
            workflow: "SUPPORT",
            body: .object([
                "type": "workflow:ticket_processed", "event_id": .string(eventID("ticket")), "occurred_at": Self.iso(at),
                "data": .object([
                    "ticket_id": .string(String(ticketNumber)), "category": .string(category.rawValue), "status": .string(outcome.rawValue),
                    "auto_resolved": .bool(auto), "client": .string(pick(SupervisionDemo.sites).client),
                    "action": .string(pick(SupervisionDemo.actions[category] ?? ["—"])), "duration_ms": .number(Double(int(1500...45_000))),
                ]),
            ])
        )
    }

    mutating func error(at: Date) -> DemoDelivery {
        let error = pick(SupervisionDemo.errors)
        var data: [String: JSONValue] = ["message": .string(error.message), "recovered": .bool(error.recovered), "ticket_id": .string(String(ticketNumber))]
        if let tool = error.tool { data["tool"] = .string(tool) }
        if let attempts = error.attempts { data["attempts"] = .number(Double(attempts)) }
        return .event(
            workflow: "SUPPORT",
            body: .object(["type": "workflow:error", "event_id": .string(eventID("error")), "occurred_at": Self.iso(at), "data": .object(data)])
        )
    }

    /// Observium's default "Webhook JSON" template: a flat object of strings.
    static func observium(state: String, alertID: String, device: String, client: String, at: Date) -> DemoDelivery {
        let unix = String(Int(at.timeIntervalSince1970))
        let message = state == "RECOVER" ? "Équipement de nouveau joignable" : "Équipement injoignable (ping)"
        let fields: [String: String] = [
            "ALERT_STATE": state, "ALERT_STATE_NAME": state == "RECOVER" ? "Recovered" : "Alert", "ALERT_EMOJI": state == "RECOVER" ? "✅" : "🔥",
            "ALERT_STATUS": state == "RECOVER" ? "1" : "0", "ALERT_SEVERITY": "Critical", "ALERT_UNIXTIME": unix,
            "ALERT_TIMESTAMP_RFC3339": FrenchFormat.iso(at), "ALERT_ID": alertID, "ALERT_MESSAGE": message,
            "ALERT_URL": "https://observium.widip.fr/alert/\(alertID)/", "CONDITIONS": "device_status equals 0", "METRICS": "device_status = 0",
            "DURATION": "", "ENTITY_NAME": device, "ENTITY_TYPE": "device", "DEVICE_HOSTNAME": device, "DEVICE_SYSNAME": device.lowercased(),
            "DEVICE_LOCATION": client, "DEVICE_TYPE": "network", "TITLE": "\(state): [\(device)] \(message)",
        ]
        return .observium(.object(fields.mapValues { .string($0) }))
    }

    mutating func diagnosis(alertID: String, ticket: Int, at: Date, responsibility known: Responsibility? = nil) -> DemoDelivery {
        let responsibility = known ?? weighted(SupervisionDemo.responsibilities)
        let confidence = responsibility == .undetermined ? int(30...55) : int(60...95)
        let step = responsibility == .isp ? "Ticket #\(ticket) créé, courriel de diagnostic envoyé au client" : "Ticket #\(ticket) créé"
        return .event(
            workflow: "SENTINEL",
            body: .object([
                "type": "workflow:alert_detected", "event_id": .string(eventID("sentinel")), "occurred_at": Self.iso(at),
                "data": .object([
                    "alert_id": .string(alertID), "responsibility": .string(responsibility.rawValue), "confidence": .number(Double(confidence)),
                    "ticket_id": .string(String(ticket)), "state": .string(responsibility == .isp ? "diagnosing" : "open"), "step": .string(step),
                ]),
            ])
        )
    }

    mutating func ingestion(at: Date) -> DemoDelivery {
        let source = weighted([("glpi_tickets", 70), ("procedures", 20), ("documentation_clients", 10)])
        let failed = uniform() < 0.05
        var data: [String: JSONValue] = [
            "run_id": .string("nightly-\(Int(at.timeIntervalSince1970))-\(source)"), "source": .string(source),
            "status": .string(failed ? "failed" : "success"), "added": .number(failed ? 0 : Double(int(8...60))),
            "updated": .number(failed ? 0 : Double(int(0...12))), "started_at": Self.iso(at.addingTimeInterval(-Double(int(60...600))))
        ]
        if failed { data["error"] = "GLPI API Error 503 : base en maintenance" }
        return .event(
            workflow: "ENRICHISSEUR",
            body: .object(["type": "workflow:ingestion_run", "event_id": .string(eventID("run")), "occurred_at": Self.iso(at), "data": .object(data)])
        )
    }

    static func health(_ dependency: String, _ status: String, latency: Int?, detail: String?, at: Date, id: String) -> DemoDelivery {
        var data: [String: JSONValue] = ["dependency": .string(dependency), "status": .string(status)]
        if let latency { data["latency_ms"] = .number(Double(latency)) }
        if let detail { data["detail"] = .string(detail) }
        return .event(
            workflow: "SENTINEL",
            body: .object(["type": "workflow:health_change", "event_id": .string(id), "occurred_at": iso(at), "data": .object(data)])
        )
    }

    // MARK: History and live

    /// Thirty days, oldest first: tickets through working hours (fewer at weekends), a few alerts a day diagnosed and
    /// recovered, errors, a nightly ingestion, two short outages of GLPI and Observium; the two alerts of the demo
    /// MCP server's estate that are still open (AP-MUSICART-RDC for 2 h 15, SWITCH-EHPAD-ROSERAIE for 20 min).
    mutating func history(days: Int) -> [DemoDelivery] {
        var deliveries: [(Date, DemoDelivery)] = []
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Europe/Paris")!
        let today = calendar.startOfDay(for: now)
        for day in stride(from: days, through: 0, by: -1) {
            guard let start = calendar.date(byAdding: .day, value: -day, to: today) else { continue }
            let weekend = calendar.isDateInWeekend(start)
            for _ in 0..<(weekend ? int(8...16) : int(35...60)) {
                let at = start.addingTimeInterval(Double(int(7 * 3600...20 * 3600)))
                if at < now { deliveries.append((at, ticket(at: at))) }
            }
            for _ in 0..<int(0...2) {
                let at = start.addingTimeInterval(Double(int(8 * 3600...18 * 3600)))
                if at < now { deliveries.append((at, error(at: at))) }
            }
            for _ in 0..<int(2...6) {
                let fired = start.addingTimeInterval(Double(int(0...86_000)))
                let recovered = fired.addingTimeInterval(Double(int(10 * 60...240 * 60)))
                guard recovered < now else { continue }
                alertNumber += 1
                ticketNumber += 1
                let site = pick(SupervisionDemo.sites)
                let device = pick(site.devices)
                let id = String(alertNumber)
                deliveries.append((fired, Self.observium(state: "ALERT", alertID: id, device: device, client: site.client, at: fired)))
                deliveries.append((fired.addingTimeInterval(90), diagnosis(alertID: id, ticket: ticketNumber, at: fired.addingTimeInterval(90))))
                deliveries.append((recovered, Self.observium(state: "RECOVER", alertID: id, device: device, client: site.client, at: recovered)))
            }
            let nightly = start.addingTimeInterval(2 * 3600 + Double(int(0...1800)))
            if nightly < now { deliveries.append((nightly, ingestion(at: nightly))) }
        }
        for (dependency, daysAgo, minutes, detail) in [("glpi", 12, 25, "API GLPI en erreur 502"), ("observium", 5, 40, "Temps de réponse > 5 s")] {
            let down = today.addingTimeInterval(Double(-daysAgo * 86_400 + 10 * 3600))
            let status = dependency == "glpi" ? "down" : "degraded"
            deliveries.append((down.addingTimeInterval(-3600), Self.health(dependency, "ok", latency: int(40...120), detail: nil, at: down.addingTimeInterval(-3600), id: "demo-\(dependency)-before")))
            deliveries.append((down, Self.health(dependency, status, latency: nil, detail: detail, at: down, id: "demo-\(dependency)-down")))
            let back = down.addingTimeInterval(Double(minutes * 60))
            deliveries.append((back, Self.health(dependency, "ok", latency: int(40...120), detail: nil, at: back, id: "demo-\(dependency)-back")))
        }
        for (device, client, minutes, diagnosed) in [("AP-MUSICART-RDC", "EHPAD Music Art", 135, true), ("SWITCH-EHPAD-ROSERAIE", "EHPAD La Roseraie", 20, false)] {
            alertNumber += 1
            ticketNumber += 1
            let fired = now.addingTimeInterval(Double(-minutes * 60))
            let id = String(alertNumber)
            deliveries.append((fired, Self.observium(state: "ALERT", alertID: id, device: device, client: client, at: fired)))
            // The demo MCP server says the access point is down: the box of the site's operator, waiting for the client's answer.
            if diagnosed {
                deliveries.append((fired.addingTimeInterval(90), diagnosis(alertID: id, ticket: ticketNumber, at: fired.addingTimeInterval(90), responsibility: .isp)))
            }
        }
        return deliveries.sorted { $0.0 < $1.0 }.map(\.1)
    }

    /// One tick of the live demo.
    mutating func next() -> [DemoDelivery] {
        var deliveries: [DemoDelivery] = []
        firing = firing.map { ($0.alertID, $0.device, $0.client, $0.ticks - 1, $0.unix) }
        for alert in firing where alert.ticks <= 0 {
            deliveries.append(Self.observium(state: "RECOVER", alertID: alert.alertID, device: alert.device, client: alert.client, at: now))
        }
        firing.removeAll { $0.ticks <= 0 }
        let roll = uniform()
        if roll < 0.12 && firing.count < 3 {
            alertNumber = max(alertNumber, 90_000) + 1
            let site = pick(SupervisionDemo.sites)
            let device = pick(site.devices)
            let id = String(alertNumber)
            deliveries.append(Self.observium(state: "ALERT", alertID: id, device: device, client: site.client, at: now))
            ticketNumber = max(ticketNumber, 90_000) + 1
            deliveries.append(diagnosis(alertID: id, ticket: ticketNumber, at: now))
            firing.append((id, device, site.client, int(6...30), Int(now.timeIntervalSince1970)))
        } else if roll < 0.17 {
            deliveries.append(error(at: now))
        } else {
            ticketNumber = max(ticketNumber, 90_000)
            deliveries.append(ticket(at: now))
        }
        return deliveries
    }
}
