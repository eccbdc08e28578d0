import Foundation
import PostgresNIO

/// Something for a newcomer to see on the embedded database (`./run`): the PRD's three pending requests (12, 45 and
/// 58 minutes left) and a week of decided history. Every request goes through the real creation path (validation
/// against the MCP server, impact preview), every decision through the service, every execution through the executor
/// and the demo MCP server; only the history's times are then moved back into the past week.
public struct SafeguardDemo: Sendable {
    let services: AppServices

    public init(services: AppServices) {
        self.services = services
    }

    struct Entry {
        let tool: String
        let arguments: [String: JSONValue]
        let ticket: Int
        let title: String
        let description: String
        let client: String
        let workflow: String
        let confidence: Int
        /// approve, reject, expire
        let outcome: String
        var reason: String? = nil
        /// How long ago it was created, and how long it waited for its decision.
        let daysAgo: Double
        let minutesToDecide: Double
    }

    static let history: [Entry] = [
        Entry(tool: "ad_reset_password", arguments: ["username": "lea.garnier"], ticket: 1201, title: "Mot de passe oublié - Léa Garnier",
              description: "Infirmière bloquée à la prise de poste, demande faite par la cadre.", client: "Clinique Saint-Jean", workflow: "SUPPORT",
              confidence: 96, outcome: "approve", daysAgo: 6.2, minutesToDecide: 4),
        Entry(tool: "glpi_close_ticket", arguments: ["ticket_id": 1235, "solution": "File d'impression purgée, imprimante redémarrée."], ticket: 1235,
              title: "Imprimante de l'accueil bloquée", description: "Résolu à distance ; l'accueil confirme que l'impression repart.",
              client: "Clinique Saint-Jean", workflow: "SUPPORT", confidence: 88, outcome: "approve", daysAgo: 5.8, minutesToDecide: 11),
        Entry(tool: "ad_disable_account", arguments: ["username": "alain.martin", "reason": "Départ annoncé"], ticket: 1209,
              title: "Départ du Dr Martin", description: "Message ambigu du secrétariat sur un départ du médecin.", client: "Cabinet Dr Martin",
              workflow: "SUPPORT", confidence: 61, outcome: "reject", reason: "Le Dr Martin reste en poste : confusion avec un remplaçant.",
              daysAgo: 5.1, minutesToDecide: 7),
        Entry(tool: "ad_reset_password", arguments: ["username": "ines.roux"], ticket: 1214, title: "Compte verrouillé - Inès Roux",
              description: "Cinq échecs de connexion après les congés.", client: "EHPAD Music Art", workflow: "SUPPORT", confidence: 94,
              outcome: "approve", daysAgo: 4.6, minutesToDecide: 3),
        Entry(tool: "ad_copy_groups_from", arguments: ["source_username": "sophie.bernard", "target_username": "paul.petit"], ticket: 1237,
              title: "Nouvel arrivant : droits de Paul Petit", description: "Mêmes droits que Sophie Bernard, infirmière du 2e étage.",
              client: "Clinique Saint-Joseph", workflow: "SUPPORT", confidence: 90, outcome: "approve", daysAgo: 3.9, minutesToDecide: 18),
        Entry(tool: "ad_reset_password", arguments: ["username": "hugo.marchand"], ticket: 1219, title: "Reset MDP demandé par courriel",
              description: "Demande reçue d'une adresse externe, sans appel de confirmation.", client: "Clinique Saint-Jean", workflow: "SUPPORT",
              confidence: 55, outcome: "reject", reason: "Demande non confirmée par téléphone : procédure anti-hameçonnage.", daysAgo: 3.2,
              minutesToDecide: 9),
        Entry(tool: "glpi_close_ticket", arguments: ["ticket_id": 1236, "solution": "Borne wifi remplacée."], ticket: 1236,
              title: "Plus de wifi au rez-de-chaussée", description: "La borne a été remplacée, en attente du retour du client.",
              client: "EHPAD Music Art", workflow: "SENTINEL", confidence: 72, outcome: "expire", daysAgo: 2.7, minutesToDecide: 60),
        Entry(tool: "ad_reset_password", arguments: ["username": "anais.morel"], ticket: 1243, title: "Mot de passe expiré - infirmière de nuit",
              description: "Mot de passe expiré pendant la garde de nuit.", client: "Résidence Le Clos Fleuri", workflow: "SUPPORT", confidence: 97,
              outcome: "approve", daysAgo: 2.1, minutesToDecide: 6),
        Entry(tool: "ad_reset_password", arguments: ["username": "claire.fontaine"], ticket: 1226, title: "Reset MDP - Claire Fontaine",
              description: "La directrice ne parvient plus à se connecter à la messagerie.", client: "EHPAD Les Jardins", workflow: "SUPPORT",
              confidence: 93, outcome: "approve", daysAgo: 1.4, minutesToDecide: 5),
        Entry(tool: "glpi_close_ticket", arguments: ["ticket_id": 1240, "solution": "Boucle réseau supprimée sur le switch du 2e étage."],
              ticket: 1240, title: "Lenteurs réseau au 2e étage", description: "Boucle détectée par SENTINEL et corrigée.",
              client: "Clinique Saint-Joseph", workflow: "SENTINEL", confidence: 84, outcome: "approve", daysAgo: 0.8, minutesToDecide: 14),
    ]

    /// Seeds once: an empty SAFEGUARD only. Returns false when there was something already.
    @discardableResult
    public func seedIfEmpty() async throws -> Bool {
        guard try await services.approvalRepository.history(ApprovalFilter()).total == 0 else { return false }
        let deciders = try await deciders()
        let executor = SafeguardExecutor(
            repository: services.approvalRepository, ledger: services.safeguardLedger, mcp: services.mcp, impact: services.safeguard.impact,
            signal: WakeSignal(), ready: DatabaseReady(), logger: services.logger
        )
        let clock = SafeguardClock(
            repository: services.approvalRepository, settings: services.config.safeguard, signal: WakeSignal(), ready: DatabaseReady(), logger: services.logger
        )
        let client = ClientInfo(ipAddress: nil, userAgent: "widip-demo")
        for (index, entry) in Self.history.enumerated() {
            let request = try await create(entry, minutesLeft: 50)
            let decider = deciders[index % deciders.count]
            switch entry.outcome {
            case "approve":
                _ = try await services.safeguard.approve(request.approvalID, by: decider, client: client)
                await executor.execute(request.approvalID)
            case "reject":
                _ = try await services.safeguard.reject(request.approvalID, by: decider, reason: entry.reason ?? "Non justifiée.", client: client)
            default:
                try await services.postgres.query(
                    "UPDATE safeguard_approvals SET expires_at = NOW() - INTERVAL '1 second' WHERE approval_id = \(request.approvalID)", logger: services.logger
                )
                try await clock.tick()
            }
            try await moveBack(request.approvalID, days: entry.daysAgo, minutesToDecide: entry.minutesToDecide)
        }
        for (entry, minutes) in Self.pending {
            _ = try await create(entry, minutesLeft: minutes)
        }
        return true
    }

    /// The PRD's mock-up (3.2.2).
    static let pending: [(Entry, Int)] = [
        (Entry(tool: "ad_reset_password", arguments: ["username": "jean.dupont"], ticket: 1234, title: "Reset MDP - Jean Dupont",
               description: "L'utilisateur a oublié son mot de passe et son compte est verrouillé après 5 essais.", client: "EHPAD Les Jardins",
               workflow: "SUPPORT", confidence: 95, outcome: "", daysAgo: 0, minutesToDecide: 0), 12),
        (Entry(tool: "glpi_close_ticket", arguments: ["ticket_id": 1242, "solution": "Cache du visualiseur vidé, affichage normal confirmé."],
               ticket: 1242, title: "Lenteur d'affichage des images", description: "Résolu depuis 3 jours, sans nouvelle du client.",
               client: "Centre de Radiologie Sainte-Anne", workflow: "SUPPORT", confidence: 82, outcome: "", daysAgo: 0, minutesToDecide: 0), 45),
        (Entry(tool: "ad_disable_account", arguments: ["username": "marie.leroy", "reason": "Départ de la secrétaire médicale"], ticket: 1238,
               title: "Départ de Mme Leroy : désactiver son compte", description: "Dernier jour de Mme Leroy vendredi, demande du Dr Martin.",
               client: "Cabinet Dr Martin", workflow: "SUPPORT", confidence: 91, outcome: "", daysAgo: 0, minutesToDecide: 0), 58),
    ]

    private func create(_ entry: Entry, minutesLeft: Int) async throws -> ApprovalRequest {
        try await services.safeguard.create(
            NewApprovalRequest(
                tool: entry.tool, arguments: entry.arguments,
                context: [
                    "ticket_id": .number(Double(entry.ticket)), "ticket_title": .string(entry.title), "ticket_description": .string(entry.description),
                    "client_name": .string(entry.client), "workflow": .string(entry.workflow), "confidence": .number(Double(entry.confidence)),
                ],
                // Seconds of margin: the countdown reads "12 min" when the page opens.
                expiresAt: Date().addingTimeInterval(Double(minutesLeft * 60 + 30)), requester: .workflow(entry.workflow)
            ),
            client: ClientInfo(ipAddress: nil, userAgent: "widip-demo")
        ).request
    }

    /// Two technicians on call who decide the history's requests. They cannot sign in (inactive, random password).
    private func deciders() async throws -> [User] {
        var found: [User] = []
        for (username, level) in [("s.garnier", AccreditationLevel.n3), ("p.morel", .n2)] {
            if let existing = try await services.users.list(search: username).first(where: { $0.username == username }) {
                found.append(existing)
            } else {
                let password = UUID().uuidString + UUID().uuidString
                found.append(
                    try await services.users.create(
                        NewUser(username: username, password: password, role: "tech", level: level, active: false), actorID: nil, client: .commandLine
                    )
                )
            }
        }
        return found
    }

    /// Moves a request's times back `days`, keeping their order and gaps, with its decision `minutesToDecide` after it.
    private func moveBack(_ id: String, days: Double, minutesToDecide: Double) async throws {
        try await services.postgres.withTransaction(logger: services.logger) { connection in
            try await connection.query(
                """
                UPDATE safeguard_approvals
                SET created_at = created_at - make_interval(secs => \(days * 86400)),
                    expires_at = expires_at - make_interval(secs => \(days * 86400)),
                    decided_at = decided_at - make_interval(secs => \(days * 86400 - minutesToDecide * 60)),
                    execution_started_at = execution_started_at - make_interval(secs => \(days * 86400 - minutesToDecide * 60)),
                    executed_at = executed_at - make_interval(secs => \(days * 86400 - minutesToDecide * 60)),
                    escalated_at = escalated_at - make_interval(secs => \(days * 86400))
                WHERE approval_id = \(id)
                """,
                logger: services.logger
            )
            try await connection.query(
                """
                UPDATE safeguard_timeline
                SET at = at - make_interval(secs => \(days * 86400) - CASE WHEN kind = 'created' THEN 0 ELSE \(minutesToDecide * 60) END)
                WHERE approval_id = \(id)
                """,
                logger: services.logger
            )
        }
    }
}
