import Foundation
import Hummingbird

/// `/api/workflows/...` (PRD 2.1, 2.3): the Phase 1 workflows report what they did, and Observium triggers SENTINEL.
struct WorkflowController {
    /// Observium is not a workflow with a platform token: its webhook carries the shared `OBSERVIUM_WEBHOOK_TOKEN`,
    /// checked here, so the route is anonymous for the access table.
    static let accessRules = [
        RouteRule(.post, "/api/workflows/events", .workflow),
        RouteRule(.post, "/api/workflows/webhook/observium", .anonymous),
    ]

    let ingestion: WorkflowIngestion
    let observiumToken: String?

    struct EventReceipt: Encodable, Sendable {
        let type: String
        let eventID: String
        let duplicate: Bool
        let outcome: JSONValue

        enum CodingKeys: String, CodingKey {
            case type, duplicate, outcome
            case eventID = "event_id"
        }
    }

    struct WebhookReceipt: Encodable, Sendable {
        let alertID: String
        let state: String
        let duplicate: Bool
        let outcome: JSONValue

        enum CodingKeys: String, CodingKey {
            case state, duplicate, outcome
            case alertID = "alert_id"
        }
    }

    func addRoutes(workflows: RouterGroup<WorkflowContext>, anyone: RouterGroup<AppRequestContext>) {
        workflows.post("/api/workflows/events") { request, context in
            let input = try await request.decodeJSON(WorkflowEventInput.self, context: context)
            let eventID = try input.validatedEventID()
            let event = try input.validated(now: Date())
            let receipt = try await ingestion.receive(event, eventID: eventID, from: context.workflow)
            return JSONBody(
                EventReceipt(type: event.type, eventID: eventID, duplicate: receipt.duplicate, outcome: receipt.outcome),
                status: receipt.duplicate ? .ok : .created
            )
        }
        anyone.post("/api/workflows/webhook/observium") { request, context in
            guard let observiumToken else { throw Self.webhookDisabled }
            guard constantTimeEquals(Self.presentedToken(request) ?? "", observiumToken) else { throw Self.badWebhookToken }
            let body = try await request.decodeJSON([String: JSONValue].self, context: context)
            let alert = try ObserviumAlert.parse(body)
            let receipt = try await ingestion.receive(alert)
            let opened = receipt.outcome.objectValue?["change"] == .string("opened") && !receipt.duplicate
            return JSONBody(
                WebhookReceipt(alertID: alert.alertID, state: alert.state, duplicate: receipt.duplicate, outcome: receipt.outcome),
                status: opened ? .created : .ok
            )
        }
    }

    /// Observium sends its token as the whole `Authorization` value; a proxy or an edited transport may add "Bearer".
    static func presentedToken(_ request: Request) -> String? {
        if let bearer = request.bearerToken { return bearer }
        return request.headers[.authorization]?.trimmingCharacters(in: .whitespaces)
    }

    static let webhookDisabled = AppError(
        .notFound, code: "webhook_disabled", "Webhook Observium désactivé : définissez OBSERVIUM_WEBHOOK_TOKEN sur le serveur et dans le transport Observium."
    )
    static let badWebhookToken = AppError(
        .unauthorized, code: "invalid_webhook_token", "Jeton du webhook Observium absent ou invalide (en-tête Authorization)."
    )
}
