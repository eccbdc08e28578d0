import Foundation

/// WIDIP's demo estate: care homes, clinics and practices with their equipment, tickets, directory accounts and
/// resolved cases. Everything is fixed so that answers are the same on every start; the demo clock is `referenceDate`.
struct DemoClient: Sendable {
    let entityID: Int
    let name: String
    let kind: String
    let city: String
    let contact: String
    let phone: String
}

struct DemoDevice: Sendable {
    enum Status: String, Sendable { case up = "UP", down = "DOWN", warning = "WARNING" }
    let hostname: String
    let entityID: Int
    let kind: String
    let model: String
    let ip: String
    let location: String
    let status: Status
    /// Uptime in days when up; for a device that is down, how long it has been unreachable, in minutes.
    let uptimeDays: Int
    let downForMinutes: Int
    let ports: (total: Int, up: Int)?
    let alert: String?
}

struct DemoTicket: Sendable {
    let id: Int
    let entityID: Int
    let title: String
    let description: String
    var status: String
    let priority: String
    let category: String
    let requester: String
    let createdAt: String
    var followups: [(date: String, author: String, content: String)]
    var solution: String?
    var closedAt: String?
}

struct DemoDirectoryUser: Sendable {
    let username: String
    let displayName: String
    let entityID: Int
    let title: String
    var enabled: Bool
    var locked: Bool
    var failedLogins: Int
    let lastLogon: String
    var passwordLastSet: String
    var mustChangePassword: Bool
    var groups: [String]
    var disabledReason: String?
}

struct DemoCase: Sendable {
    let reference: String
    let entityID: Int
    let hostname: String?
    let title: String
    let symptom: String
    let resolution: String
    let resolvedAt: String
    let tags: [String]
}

enum DemoData {
    static let referenceDate = "2026-11-25T09:00:00+01:00"

    static let clients: [DemoClient] = [
        DemoClient(entityID: 12, name: "EHPAD Les Jardins", kind: "EHPAD", city: "Lyon", contact: "Mme Claire Fontaine (directrice)", phone: "04 72 10 20 30"),
        DemoClient(entityID: 42, name: "Clinique Saint-Jean", kind: "Clinique", city: "Montpellier", contact: "M. Hugo Marchand (DSI)", phone: "04 67 55 12 00"),
        DemoClient(entityID: 17, name: "EHPAD Music Art", kind: "EHPAD", city: "Marseille", contact: "Mme Inès Roux (cadre de santé)", phone: "04 91 22 33 44"),
        DemoClient(entityID: 23, name: "Cabinet Dr Martin", kind: "Cabinet médical", city: "Nîmes", contact: "Dr Alain Martin", phone: "04 66 21 43 65"),
        DemoClient(entityID: 31, name: "Clinique Saint-Joseph", kind: "Clinique", city: "Toulouse", contact: "Mme Nadia Benali (responsable informatique)", phone: "05 61 44 55 66"),
        DemoClient(entityID: 8, name: "EHPAD Les Oliviers", kind: "EHPAD", city: "Aix-en-Provence", contact: "M. Paul Girard (directeur)", phone: "04 42 60 70 80"),
        DemoClient(entityID: 55, name: "Résidence Le Clos Fleuri", kind: "EHPAD", city: "Avignon", contact: "Mme Lucie Perrin (directrice)", phone: "04 90 11 22 33"),
        DemoClient(entityID: 61, name: "Clinique du Parc", kind: "Clinique", city: "Béziers", contact: "M. Karim Haddad (DSI)", phone: "04 67 30 40 50"),
        DemoClient(entityID: 64, name: "Centre de Radiologie Sainte-Anne", kind: "Centre d'imagerie", city: "Sète", contact: "Dr Élodie Blanc", phone: "04 67 74 85 96"),
        DemoClient(entityID: 70, name: "EHPAD La Roseraie", kind: "EHPAD", city: "Perpignan", contact: "Mme Sandrine Lopez (directrice)", phone: "04 68 12 34 56"),
        DemoClient(entityID: 77, name: "Laboratoire BioSud", kind: "Laboratoire", city: "Montpellier", contact: "M. Julien Faure (biologiste)", phone: "04 67 99 88 77"),
        DemoClient(entityID: 83, name: "Cabinet de Kinésithérapie Durand", kind: "Cabinet paramédical", city: "Lunel", contact: "M. Thomas Durand", phone: "04 67 71 72 73"),
    ]

    static let devices: [DemoDevice] = [
        DemoDevice(hostname: "SWITCH-CLIN-STJEAN", entityID: 42, kind: "switch", model: "Cisco Catalyst 2960-X 24 ports", ip: "10.42.0.2", location: "Baie principale, sous-sol", status: .up, uptimeDays: 45, downForMinutes: 0, ports: (24, 24), alert: nil),
        DemoDevice(hostname: "FW-CLIN-STJEAN", entityID: 42, kind: "pare-feu", model: "Fortinet FortiGate 60F", ip: "10.42.0.1", location: "Baie principale, sous-sol", status: .up, uptimeDays: 112, downForMinutes: 0, ports: nil, alert: nil),
        DemoDevice(hostname: "SRV-CLIN-STJEAN-DPI", entityID: 42, kind: "serveur", model: "Dell PowerEdge R650 (dossier patient)", ip: "10.42.1.10", location: "Salle serveurs", status: .up, uptimeDays: 27, downForMinutes: 0, ports: nil, alert: nil),
        DemoDevice(hostname: "SWITCH-EHPAD-JARDINS", entityID: 12, kind: "switch", model: "HPE Aruba 2530 48 ports", ip: "10.12.0.2", location: "Local technique, RDC", status: .up, uptimeDays: 203, downForMinutes: 0, ports: (48, 41), alert: nil),
        DemoDevice(hostname: "SRV-EHPAD-JARDINS-01", entityID: 12, kind: "serveur", model: "HPE ProLiant ML110 (fichiers, AD)", ip: "10.12.1.10", location: "Local technique, RDC", status: .warning, uptimeDays: 64, downForMinutes: 0, ports: nil, alert: "Disque D: plein à 91 %"),
        DemoDevice(hostname: "AP-MUSICART-RDC", entityID: 17, kind: "borne wifi", model: "Ubiquiti UniFi U6 Pro", ip: "10.17.3.21", location: "Rez-de-chaussée, salle d'activités", status: .down, uptimeDays: 0, downForMinutes: 135, ports: nil, alert: "Injoignable depuis 2 h 15"),
        DemoDevice(hostname: "SWITCH-EHPAD-MUSICART", entityID: 17, kind: "switch", model: "Cisco Catalyst 1000 48 ports PoE", ip: "10.17.0.2", location: "Baie du 1er étage", status: .up, uptimeDays: 120, downForMinutes: 0, ports: (48, 46), alert: nil),
        DemoDevice(hostname: "RTR-CAB-MARTIN", entityID: 23, kind: "routeur", model: "Orange Livebox Pro 6", ip: "192.168.23.1", location: "Secrétariat", status: .up, uptimeDays: 18, downForMinutes: 0, ports: nil, alert: nil),
        DemoDevice(hostname: "NAS-CAB-MARTIN", entityID: 23, kind: "stockage", model: "Synology DS220+", ip: "192.168.23.20", location: "Secrétariat", status: .up, uptimeDays: 95, downForMinutes: 0, ports: nil, alert: nil),
        DemoDevice(hostname: "SWITCH-CLIN-STJOSEPH-2", entityID: 31, kind: "switch", model: "Cisco Catalyst 2960-X 24 ports", ip: "10.31.0.3", location: "2e étage, couloir B", status: .warning, uptimeDays: 9, downForMinutes: 0, ports: (24, 22), alert: "2 ports en erreurs CRC (Gi1/0/7, Gi1/0/8)"),
        DemoDevice(hostname: "SRV-CLIN-STJOSEPH-DC01", entityID: 31, kind: "serveur", model: "Dell PowerEdge R450 (contrôleur de domaine)", ip: "10.31.1.5", location: "Salle serveurs", status: .up, uptimeDays: 33, downForMinutes: 0, ports: nil, alert: nil),
        DemoDevice(hostname: "FW-EHPAD-OLIVIERS", entityID: 8, kind: "pare-feu", model: "Stormshield SN210", ip: "10.8.0.1", location: "Bureau de direction", status: .up, uptimeDays: 76, downForMinutes: 0, ports: nil, alert: nil),
        DemoDevice(hostname: "SWITCH-CLOS-FLEURI", entityID: 55, kind: "switch", model: "Netgear GS724T", ip: "10.55.0.2", location: "Local technique", status: .up, uptimeDays: 58, downForMinutes: 0, ports: (24, 19), alert: nil),
        DemoDevice(hostname: "SRV-CLIN-PARC-01", entityID: 61, kind: "serveur", model: "Lenovo ThinkSystem SR630", ip: "10.61.1.10", location: "Salle serveurs", status: .up, uptimeDays: 141, downForMinutes: 0, ports: nil, alert: nil),
        DemoDevice(hostname: "PACS-RADIO-STEANNE", entityID: 64, kind: "serveur", model: "Serveur PACS (imagerie)", ip: "10.64.1.30", location: "Salle serveurs", status: .up, uptimeDays: 22, downForMinutes: 0, ports: nil, alert: nil),
        DemoDevice(hostname: "SWITCH-EHPAD-ROSERAIE", entityID: 70, kind: "switch", model: "HPE Aruba 1930 24 ports", ip: "10.70.0.2", location: "Local technique", status: .down, uptimeDays: 0, downForMinutes: 20, ports: (24, 0), alert: "Injoignable depuis 20 min (coupure électrique signalée)"),
        DemoDevice(hostname: "FW-BIOSUD", entityID: 77, kind: "pare-feu", model: "Fortinet FortiGate 40F", ip: "10.77.0.1", location: "Baie réseau", status: .up, uptimeDays: 201, downForMinutes: 0, ports: nil, alert: nil),
        DemoDevice(hostname: "RTR-KINE-DURAND", entityID: 83, kind: "routeur", model: "Freebox Pro", ip: "192.168.83.1", location: "Accueil", status: .up, uptimeDays: 12, downForMinutes: 0, ports: nil, alert: nil),
    ]

    static let tickets: [DemoTicket] = [
        DemoTicket(
            id: 1234, entityID: 12, title: "Reset MDP - Jean Dupont",
            description: "M. Jean Dupont (aide-soignant) a verrouillé son compte après plusieurs essais et ne peut plus ouvrir sa session sur le poste de soins. Demande de réinitialisation du mot de passe.",
            status: "En cours", priority: "Haute", category: "Compte utilisateur", requester: "Claire Fontaine", createdAt: "2026-11-25T07:42:00+01:00",
            followups: [("2026-11-25T07:50:00+01:00", "SUPPORT (automatique)", "Compte jean.dupont verrouillé après 5 échecs. Réinitialisation proposée à SAFEGUARD.")]
        ),
        DemoTicket(
            id: 1235, entityID: 42, title: "Imprimante de l'accueil bloquée",
            description: "L'imprimante de l'accueil affiche « bourrage papier » alors qu'aucune feuille n'est coincée.",
            status: "Nouveau", priority: "Moyenne", category: "Impression", requester: "Hugo Marchand", createdAt: "2026-11-25T08:05:00+01:00", followups: []
        ),
        DemoTicket(
            id: 1236, entityID: 17, title: "Plus de wifi au rez-de-chaussée",
            description: "Les tablettes de la salle d'activités n'ont plus de wifi depuis ce matin. Les animateurs ne peuvent plus lancer les séances de musicothérapie.",
            status: "En cours", priority: "Haute", category: "Réseau", requester: "Inès Roux", createdAt: "2026-11-25T07:10:00+01:00",
            followups: [("2026-11-25T07:12:00+01:00", "SENTINEL (automatique)", "Alerte Observium : AP-MUSICART-RDC injoignable.")]
        ),
        DemoTicket(
            id: 1237, entityID: 31, title: "Nouvel arrivant : droits de Paul Petit",
            description: "Paul Petit arrive lundi comme infirmier au 2e étage. Merci de lui donner les mêmes droits que Sophie Bernard.",
            status: "En attente", priority: "Moyenne", category: "Compte utilisateur", requester: "Nadia Benali", createdAt: "2026-11-24T16:30:00+01:00", followups: []
        ),
        DemoTicket(
            id: 1238, entityID: 23, title: "Départ de Mme Leroy : désactiver son compte",
            description: "Marie Leroy (secrétaire médicale) quitte le cabinet ce vendredi. Son compte doit être désactivé à son départ.",
            status: "En attente", priority: "Basse", category: "Compte utilisateur", requester: "Dr Alain Martin", createdAt: "2026-11-23T11:00:00+01:00", followups: []
        ),
        DemoTicket(
            id: 1239, entityID: 12, title: "Disque du serveur presque plein",
            description: "Alerte sur SRV-EHPAD-JARDINS-01 : le volume D: est plein à 91 %.",
            status: "Nouveau", priority: "Moyenne", category: "Serveur", requester: "SENTINEL", createdAt: "2026-11-25T06:00:00+01:00", followups: []
        ),
        DemoTicket(
            id: 1240, entityID: 31, title: "Lenteurs réseau au 2e étage",
            description: "Les postes du couloir B sont très lents pour ouvrir le dossier patient depuis hier après-midi.",
            status: "En cours", priority: "Haute", category: "Réseau", requester: "Nadia Benali", createdAt: "2026-11-24T15:10:00+01:00",
            followups: [("2026-11-24T15:40:00+01:00", "Technicien N1", "Erreurs CRC relevées sur SWITCH-CLIN-STJOSEPH-2, ports 7 et 8.")]
        ),
        DemoTicket(
            id: 1241, entityID: 70, title: "Coupure réseau totale",
            description: "Plus aucun accès réseau dans l'établissement après une coupure électrique.",
            status: "Nouveau", priority: "Très haute", category: "Réseau", requester: "Sandrine Lopez", createdAt: "2026-11-25T08:40:00+01:00", followups: []
        ),
        DemoTicket(
            id: 1242, entityID: 64, title: "Lenteur d'affichage des images",
            description: "Les radiologues signalent des temps d'ouverture des examens de plus de 30 secondes.",
            status: "Résolu", priority: "Moyenne", category: "Application", requester: "Dr Élodie Blanc", createdAt: "2026-11-20T10:00:00+01:00",
            followups: [("2026-11-21T09:00:00+01:00", "Technicien N2", "Index de la base PACS reconstruit ; temps d'ouverture revenu à 3 s.")],
            solution: "Reconstruction des index de la base PACS.", closedAt: nil
        ),
        DemoTicket(
            id: 1243, entityID: 55, title: "Mot de passe expiré - infirmière de nuit",
            description: "Mme Anaïs Morel ne peut plus se connecter : son mot de passe a expiré.",
            status: "Clos", priority: "Moyenne", category: "Compte utilisateur", requester: "Lucie Perrin", createdAt: "2026-11-18T22:15:00+01:00",
            followups: [], solution: "Mot de passe réinitialisé après validation SAFEGUARD.", closedAt: "2026-11-18T22:40:00+01:00"
        ),
    ]

    static let directoryUsers: [DemoDirectoryUser] = [
        DemoDirectoryUser(username: "jean.dupont", displayName: "Jean Dupont", entityID: 12, title: "Aide-soignant", enabled: true, locked: true, failedLogins: 5, lastLogon: "2026-11-24T21:58:00+01:00", passwordLastSet: "2026-08-30T08:00:00+02:00", mustChangePassword: false, groups: ["GG_Soignants", "GG_Poste_Soins", "GG_Messagerie"]),
        DemoDirectoryUser(username: "claire.fontaine", displayName: "Claire Fontaine", entityID: 12, title: "Directrice", enabled: true, locked: false, failedLogins: 0, lastLogon: "2026-11-25T08:02:00+01:00", passwordLastSet: "2026-10-02T09:00:00+02:00", mustChangePassword: false, groups: ["GG_Direction", "GG_Messagerie", "GG_Comptabilite"]),
        DemoDirectoryUser(username: "hugo.marchand", displayName: "Hugo Marchand", entityID: 42, title: "DSI", enabled: true, locked: false, failedLogins: 0, lastLogon: "2026-11-25T07:55:00+01:00", passwordLastSet: "2026-09-15T10:00:00+02:00", mustChangePassword: false, groups: ["GG_Admins_Locaux", "GG_Messagerie"]),
        DemoDirectoryUser(username: "lea.garnier", displayName: "Léa Garnier", entityID: 42, title: "Infirmière", enabled: true, locked: false, failedLogins: 1, lastLogon: "2026-11-25T06:45:00+01:00", passwordLastSet: "2026-07-01T08:00:00+02:00", mustChangePassword: false, groups: ["GG_Soignants", "GG_DPI", "GG_Messagerie"]),
        DemoDirectoryUser(username: "ines.roux", displayName: "Inès Roux", entityID: 17, title: "Cadre de santé", enabled: true, locked: false, failedLogins: 0, lastLogon: "2026-11-25T07:30:00+01:00", passwordLastSet: "2026-10-20T08:00:00+02:00", mustChangePassword: false, groups: ["GG_Encadrement", "GG_Soignants", "GG_Messagerie"]),
        DemoDirectoryUser(username: "alain.martin", displayName: "Dr Alain Martin", entityID: 23, title: "Médecin généraliste", enabled: true, locked: false, failedLogins: 0, lastLogon: "2026-11-25T08:30:00+01:00", passwordLastSet: "2026-09-01T08:00:00+02:00", mustChangePassword: false, groups: ["GG_Medecins", "GG_Logiciel_Medical"]),
        DemoDirectoryUser(username: "marie.leroy", displayName: "Marie Leroy", entityID: 23, title: "Secrétaire médicale", enabled: true, locked: false, failedLogins: 0, lastLogon: "2026-11-24T17:45:00+01:00", passwordLastSet: "2026-06-10T08:00:00+02:00", mustChangePassword: false, groups: ["GG_Secretariat", "GG_Logiciel_Medical", "GG_Messagerie"]),
        DemoDirectoryUser(username: "sophie.bernard", displayName: "Sophie Bernard", entityID: 31, title: "Infirmière (2e étage)", enabled: true, locked: false, failedLogins: 0, lastLogon: "2026-11-25T06:58:00+01:00", passwordLastSet: "2026-09-28T08:00:00+02:00", mustChangePassword: false, groups: ["GG_Soignants", "GG_DPI", "GG_Etage2", "GG_Pharmacie_Lecture", "GG_Messagerie"]),
        DemoDirectoryUser(username: "paul.petit", displayName: "Paul Petit", entityID: 31, title: "Infirmier (2e étage)", enabled: true, locked: false, failedLogins: 0, lastLogon: "jamais", passwordLastSet: "2026-11-24T16:45:00+01:00", mustChangePassword: true, groups: ["GG_Utilisateurs"]),
        DemoDirectoryUser(username: "nadia.benali", displayName: "Nadia Benali", entityID: 31, title: "Responsable informatique", enabled: true, locked: false, failedLogins: 0, lastLogon: "2026-11-25T08:10:00+01:00", passwordLastSet: "2026-10-05T08:00:00+02:00", mustChangePassword: false, groups: ["GG_Admins_Locaux", "GG_Messagerie"]),
        DemoDirectoryUser(username: "anais.morel", displayName: "Anaïs Morel", entityID: 55, title: "Infirmière de nuit", enabled: true, locked: false, failedLogins: 0, lastLogon: "2026-11-24T22:05:00+01:00", passwordLastSet: "2026-11-18T22:35:00+01:00", mustChangePassword: false, groups: ["GG_Soignants", "GG_Messagerie"]),
        DemoDirectoryUser(username: "karim.haddad", displayName: "Karim Haddad", entityID: 61, title: "DSI", enabled: true, locked: false, failedLogins: 0, lastLogon: "2026-11-25T08:20:00+01:00", passwordLastSet: "2026-08-12T08:00:00+02:00", mustChangePassword: false, groups: ["GG_Admins_Locaux", "GG_Messagerie"]),
        DemoDirectoryUser(username: "elodie.blanc", displayName: "Dr Élodie Blanc", entityID: 64, title: "Radiologue", enabled: true, locked: false, failedLogins: 0, lastLogon: "2026-11-25T08:35:00+01:00", passwordLastSet: "2026-09-09T08:00:00+02:00", mustChangePassword: false, groups: ["GG_Medecins", "GG_PACS"]),
        DemoDirectoryUser(username: "marc.vidal", displayName: "Marc Vidal", entityID: 70, title: "Agent d'entretien", enabled: false, locked: false, failedLogins: 0, lastLogon: "2026-06-30T16:00:00+02:00", passwordLastSet: "2026-01-10T08:00:00+01:00", mustChangePassword: false, groups: ["GG_Utilisateurs"], disabledReason: "Fin de contrat (30/06/2026)"),
        DemoDirectoryUser(username: "julien.faure", displayName: "Julien Faure", entityID: 77, title: "Biologiste", enabled: true, locked: false, failedLogins: 0, lastLogon: "2026-11-25T07:40:00+01:00", passwordLastSet: "2026-10-30T08:00:00+01:00", mustChangePassword: false, groups: ["GG_Biologistes", "GG_SIL", "GG_Messagerie"]),
    ]

    static let resolvedCases: [DemoCase] = [
        DemoCase(reference: "CAS-2024-0312", entityID: 42, hostname: "SWITCH-CLIN-STJEAN", title: "Switch de la Clinique Saint-Jean injoignable après orage", symptom: "Perte totale du réseau au sous-sol, switch injoignable après un orage.", resolution: "Onduleur de la baie défaillant remplacé ; switch redémarré, configuration vérifiée.", resolvedAt: "2024-03-12", tags: ["switch", "électrique", "onduleur"]),
        DemoCase(reference: "CAS-2024-0918", entityID: 42, hostname: "SWITCH-CLIN-STJEAN", title: "Port du switch de la Clinique Saint-Jean en erreur", symptom: "Lenteurs au bloc opératoire, erreurs CRC sur le port Gi1/0/12 du switch.", resolution: "Câble RJ45 du bloc remplacé, compteurs d'erreurs remis à zéro, plus d'erreur depuis.", resolvedAt: "2024-09-18", tags: ["switch", "CRC", "câblage", "lenteur"]),
        DemoCase(reference: "CAS-2025-0207", entityID: 31, hostname: "SWITCH-CLIN-STJOSEPH-2", title: "Lenteurs réseau au 2e étage de la Clinique Saint-Joseph", symptom: "Erreurs CRC sur deux ports, dossier patient très lent.", resolution: "Jarretières de brassage changées et port passé en 1 Gbit/s full-duplex forcé.", resolvedAt: "2025-02-07", tags: ["switch", "CRC", "lenteur", "duplex"]),
        DemoCase(reference: "CAS-2025-0415", entityID: 17, hostname: "AP-MUSICART-RDC", title: "Borne wifi du rez-de-chaussée hors service", symptom: "Borne wifi injoignable, tablettes sans réseau.", resolution: "Injecteur PoE du port 14 défaillant ; borne rebranchée sur un port PoE+ du switch.", resolvedAt: "2025-04-15", tags: ["wifi", "PoE", "borne"]),
        DemoCase(reference: "CAS-2025-0521", entityID: 12, hostname: nil, title: "Compte verrouillé d'un soignant de nuit", symptom: "Compte AD verrouillé après des essais sur un ancien mot de passe enregistré sur le poste de soins.", resolution: "Mot de passe réinitialisé via SAFEGUARD, identifiants enregistrés supprimés du poste.", resolvedAt: "2025-05-21", tags: ["AD", "verrouillage", "mot de passe"]),
        DemoCase(reference: "CAS-2025-0630", entityID: 12, hostname: "SRV-EHPAD-JARDINS-01", title: "Disque D: plein sur le serveur de l'EHPAD Les Jardins", symptom: "Volume D: plein à 95 %, partages lents.", resolution: "Anciennes sauvegardes locales déplacées vers le NAS, rotation des journaux activée.", resolvedAt: "2025-06-30", tags: ["serveur", "disque", "stockage"]),
        DemoCase(reference: "CAS-2025-0802", entityID: 70, hostname: "SWITCH-EHPAD-ROSERAIE", title: "Coupure réseau après coupure électrique à l'EHPAD La Roseraie", symptom: "Tout le réseau tombé après une coupure EDF.", resolution: "Switch bloqué au démarrage ; redémarrage électrique puis ajout d'un onduleur.", resolvedAt: "2025-08-02", tags: ["switch", "électrique", "coupure"]),
        DemoCase(reference: "CAS-2025-0910", entityID: 23, hostname: nil, title: "Départ d'une secrétaire du Cabinet Dr Martin", symptom: "Départ d'une salariée : compte à désactiver et boîte mail à conserver.", resolution: "Compte désactivé via SAFEGUARD, boîte aux lettres convertie en boîte partagée.", resolvedAt: "2025-09-10", tags: ["AD", "départ", "désactivation"]),
        DemoCase(reference: "CAS-2025-1003", entityID: 31, hostname: nil, title: "Nouvel arrivant sans accès au dossier patient", symptom: "Nouvel infirmier sans accès au DPI ni au partage de l'étage.", resolution: "Groupes copiés depuis un collègue du même service via SAFEGUARD.", resolvedAt: "2025-10-03", tags: ["AD", "groupes", "arrivée"]),
        DemoCase(reference: "CAS-2025-1105", entityID: 64, hostname: "PACS-RADIO-STEANNE", title: "Images lentes à s'ouvrir au Centre de Radiologie Sainte-Anne", symptom: "Ouverture des examens en plus de 30 secondes.", resolution: "Index de la base PACS reconstruits, tâche de maintenance hebdomadaire planifiée.", resolvedAt: "2025-11-05", tags: ["PACS", "lenteur", "base de données"]),
        DemoCase(reference: "CAS-2026-0114", entityID: 42, hostname: nil, title: "Imprimante de l'accueil en faux bourrage", symptom: "Bourrage papier annoncé sans feuille coincée.", resolution: "Capteur de sortie nettoyé, micrologiciel de l'imprimante mis à jour.", resolvedAt: "2026-01-14", tags: ["impression", "bourrage"]),
        DemoCase(reference: "CAS-2026-0322", entityID: 8, hostname: "FW-EHPAD-OLIVIERS", title: "VPN des médecins coupé à l'EHPAD Les Oliviers", symptom: "Les médecins de garde ne peuvent plus se connecter au VPN.", resolution: "Certificat du portail VPN renouvelé sur le pare-feu.", resolvedAt: "2026-03-22", tags: ["VPN", "pare-feu", "certificat"]),
    ]
}
