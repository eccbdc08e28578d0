import Foundation
import MCP

/// The ten tools of WIDIP's Phase 1 MCP server, as the demo server describes them to clients.
enum DemoTools {
    static func schema(_ properties: [String: Value], required: [String]) -> Value {
        ["type": "object", "properties": .object(properties), "required": .array(required.map { .string($0) }), "additionalProperties": false]
    }

    static let readOnly = Tool.Annotations(readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false)
    static func change(destructive: Bool) -> Tool.Annotations {
        Tool.Annotations(readOnlyHint: false, destructiveHint: destructive, idempotentHint: false, openWorldHint: false)
    }

    static let all: [Tool] = [
        Tool(
            name: "observium_get_device_status", title: "État d'un équipement",
            description: "Donne l'état d'un équipement supervisé par Observium (UP, DOWN ou WARNING), son temps de fonctionnement, ses ports et son alerte en cours.",
            inputSchema: schema(["hostname": ["type": "string", "description": "Nom de l'équipement, par exemple SWITCH-CLIN-STJEAN"]], required: ["hostname"]),
            annotations: readOnly
        ),
        Tool(
            name: "observium_get_device_metrics", title: "Métriques d'un équipement",
            description: "Donne les métriques réseau et système d'un équipement sur une période : processeur, mémoire, trafic, erreurs, latence.",
            inputSchema: schema([
                "hostname": ["type": "string", "description": "Nom de l'équipement, par exemple SWITCH-CLIN-STJEAN"],
                "period": ["type": "string", "enum": ["1h", "24h", "7d"], "description": "Période : 1h, 24h (par défaut) ou 7d", "default": "24h"],
            ], required: ["hostname"]),
            annotations: readOnly
        ),
        Tool(
            name: "glpi_get_ticket_details", title: "Détails d'un ticket",
            description: "Donne le détail d'un ticket GLPI : client, demandeur, description, statut, suivis et solution.",
            inputSchema: schema(["ticket_id": ["type": "integer", "description": "Numéro du ticket, par exemple 1234", "minimum": 1]], required: ["ticket_id"]),
            annotations: readOnly
        ),
        Tool(
            name: "glpi_search_client", title: "Recherche d'un client",
            description: "Cherche un client (entité GLPI) par son nom, même abrégé ou sans accents (« Clinique St-Jean » trouve « Clinique Saint-Jean »).",
            inputSchema: schema([
                "query": ["type": "string", "description": "Nom ou partie du nom du client"],
                "limit": ["type": "integer", "minimum": 1, "maximum": 20, "default": 5, "description": "Nombre maximal de résultats"],
            ], required: ["query"]),
            annotations: readOnly
        ),
        Tool(
            name: "memory_search_similar_cases", title: "Cas similaires résolus",
            description: "Cherche dans la mémoire de WIDIP les incidents déjà résolus qui ressemblent à une description.",
            inputSchema: schema([
                "query": ["type": "string", "description": "Description du problème, du client ou de l'équipement"],
                "limit": ["type": "integer", "minimum": 1, "maximum": 10, "default": 5, "description": "Nombre maximal de cas"],
            ], required: ["query"]),
            annotations: readOnly
        ),
        Tool(
            name: "ad_check_user", title: "Vérification d'un compte AD",
            description: "Donne l'état d'un compte Active Directory : actif, verrouillé, dernière connexion, mot de passe, groupes.",
            inputSchema: schema(["username": ["type": "string", "description": "Identifiant du compte, par exemple jean.dupont"]], required: ["username"]),
            annotations: readOnly
        ),
        Tool(
            name: "ad_reset_password", title: "Réinitialisation d'un mot de passe AD",
            description: "Réinitialise le mot de passe d'un compte Active Directory, le déverrouille et renvoie un mot de passe temporaire à changer à la prochaine connexion.",
            inputSchema: schema([
                "username": ["type": "string", "description": "Identifiant du compte, par exemple jean.dupont"],
                "must_change_at_next_logon": ["type": "boolean", "default": true, "description": "Imposer le changement à la prochaine connexion"],
            ], required: ["username"]),
            annotations: change(destructive: true)
        ),
        Tool(
            name: "glpi_close_ticket", title: "Clôture d'un ticket",
            description: "Clôt un ticket GLPI avec une solution.",
            inputSchema: schema([
                "ticket_id": ["type": "integer", "description": "Numéro du ticket, par exemple 1234", "minimum": 1],
                "solution": ["type": "string", "description": "Solution apportée, visible par le client"],
            ], required: ["ticket_id", "solution"]),
            annotations: change(destructive: false)
        ),
        Tool(
            name: "ad_disable_account", title: "Désactivation d'un compte AD",
            description: "Désactive un compte Active Directory (départ, compromission). Le compte n'est pas supprimé.",
            inputSchema: schema([
                "username": ["type": "string", "description": "Identifiant du compte, par exemple marie.leroy"],
                "reason": ["type": "string", "description": "Motif de la désactivation"],
            ], required: ["username"]),
            annotations: change(destructive: true)
        ),
        Tool(
            name: "ad_copy_groups_from", title: "Copie des groupes AD d'un collègue",
            description: "Ajoute au compte cible les groupes Active Directory du compte source (nouvel arrivant, changement de poste).",
            inputSchema: schema([
                "source_username": ["type": "string", "description": "Compte dont on copie les groupes, par exemple sophie.bernard"],
                "target_username": ["type": "string", "description": "Compte qui reçoit les groupes, par exemple paul.petit"],
            ], required: ["source_username", "target_username"]),
            annotations: change(destructive: false)
        ),
    ]

    static var names: [String] { all.map(\.name) }

    static func accepted(by tool: String) -> [String] {
        guard let schema = all.first(where: { $0.name == tool })?.inputSchema.objectValue?["properties"]?.objectValue else { return [] }
        return schema.keys.sorted()
    }
}
