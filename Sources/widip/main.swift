import ArgumentParser
import Foundation
import Hummingbird
import Logging
import WidipApp

@main
struct Widip: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "widip",
        abstract: "Plateforme unifiée WIDIP : serveur, migrations et administration.",
        subcommands: [Serve.self, Migrate.self, UserCommand.self, HashLegacyPasswords.self, BootstrapAdmin.self, Demo.self, KnowledgeCommand.self]
    )

    /// Argument errors print one line and exit with 2; help exits 0; failures while running exit with 1.
    static func main() async {
        let command: ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            if exitCode(for: error) == .success { exit(withError: error) }
            let message = message(for: error).split(separator: "\n").first.map(String.init) ?? "arguments invalides"
            FileHandle.standardError.write(Data("widip: \(message) (voir widip --help)\n".utf8))
            Foundation.exit(2)
        }
        do {
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                var syncCommand = command
                try syncCommand.run()
            }
        } catch {
            FileHandle.standardError.write(Data("widip: \(describe(error))\n".utf8))
            Foundation.exit(1)
        }
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case let error as ConfigError: "configuration invalide — \(error.variable) : \(error.problem)"
        case let error as AppError: error.message
        default: "échec : \(String(describing: error).prefix(300))"
        }
    }
}

/// Reads the configuration and runs `body` with the database pool running.
func withServices<Value: Sendable>(_ body: @Sendable (AppServices) async throws -> Value) async throws -> Value {
    let config = try await AppConfig.load()
    var logger = Logger(label: "widip")
    logger.logLevel = .warning
    return try await AppServices(config: config, logger: logger).withDatabase(body)
}

func readPasswordFromStandardInput() throws -> String {
    guard let line = readLine(strippingNewline: true), !line.isEmpty else {
        throw AppError(.badRequest, "aucun mot de passe lu sur l'entrée standard")
    }
    return line
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Démarre le serveur (port PORT, 3002 par défaut).")

    func run() async throws {
        let config = try await AppConfig.load()
        let app = try await buildApplication(config: config)
        try await app.runService()
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Applique les migrations en attente.")

    func run() async throws {
        let applied = try await withServices { try await $0.migrate() }
        print(applied.isEmpty ? "Base de données déjà à jour." : "Migrations appliquées : \(applied.map(String.init).joined(separator: ", ")).")
    }
}

struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user", abstract: "Gère les comptes utilisateurs.", subcommands: [Create.self, ResetPassword.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Crée un utilisateur ; le mot de passe est lu sur l'entrée standard.")

        @Option(help: "Identifiant de connexion.") var username: String
        @Option(help: "Niveau d'accréditation (N0 à N4).") var level: AccreditationLevel
        @Option(help: "Rôle (admin, tech, user).") var role: String = "tech"
        @Option(help: "Quota de tokens.") var tokenQuota: Int = UserRules.defaultTokenQuota
        @Flag(help: "Lit le mot de passe sur l'entrée standard (obligatoire).") var passwordStdin = false

        func validate() throws {
            guard passwordStdin else { throw ValidationError("--password-stdin est obligatoire : le mot de passe ne passe jamais en argument") }
        }

        func run() async throws {
            let password = try readPasswordFromStandardInput()
            let new = NewUser(username: username, password: password, role: role, level: level, tokenQuota: tokenQuota)
            let user = try await withServices { try await $0.users.create(new, actorID: nil, client: .commandLine) }
            print("Utilisateur « \(user.username) » créé (id \(user.id), niveau \(user.level.rawValue)).")
        }
    }

    struct ResetPassword: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change le mot de passe d'un utilisateur (lu sur l'entrée standard).")

        @Option(help: "Identifiant de connexion.") var username: String
        @Flag(help: "Lit le mot de passe sur l'entrée standard (obligatoire).") var passwordStdin = false

        func validate() throws {
            guard passwordStdin else { throw ValidationError("--password-stdin est obligatoire : le mot de passe ne passe jamais en argument") }
        }

        func run() async throws {
            let password = try readPasswordFromStandardInput()
            let name = username
            try await withServices { services in
                let matches = try await services.users.list(search: nil).filter { $0.username.lowercased() == name.lowercased() }
                guard let user = matches.first else { throw AppError(.notFound, "utilisateur « \(name) » introuvable") }
                _ = try await services.users.update(id: user.id, changes: UserChanges(password: password), actorID: nil, client: .commandLine)
            }
            print("Mot de passe de « \(username) » changé ; ses sessions ouvertes ont été fermées.")
        }
    }
}

struct HashLegacyPasswords: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Convertit en bcrypt les mots de passe en clair hérités de la Phase 1.")

    func run() async throws {
        let count = try await withServices { try await $0.auth.hashLegacyPasswords() }
        print("\(count) mot(s) de passe converti(s) en bcrypt.")
    }
}

struct BootstrapAdmin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bootstrap-admin", abstract: "Crée un super admin (N4) « admin » s'il n'existe aucun N4 actif, et affiche son mot de passe une fois."
    )

    func run() async throws {
        let password = try await withServices { services -> String? in
            _ = try await services.migrate()
            return try await services.users.ensureSuperAdmin()
        }
        if let password {
            print("Super admin créé : identifiant « admin », mot de passe « \(password) » (affiché une seule fois : notez-le).")
        }
    }
}

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Données de démonstration pour la base embarquée de ./run.", subcommands: [DemoSeed.self, DemoLive.self], defaultSubcommand: DemoSeed.self
    )
}

struct DemoSeed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed",
        abstract: "Remplit une base vide : SAFEGUARD (trois demandes en attente, une semaine d'historique) et SUPERVISION (30 jours d'activité des workflows).",
        discussion: "Pour la base embarquée de ./run, avec le serveur MCP de démonstration : les actions approuvées y sont réellement exécutées. Chaque partie n'est écrite que si elle est vide."
    )

    func run() async throws {
        let (safeguard, supervision) = try await withServices { services in
            _ = try await services.migrate()
            return (try await SafeguardDemo(services: services).seedIfEmpty(), try await SupervisionDemo(services: services).seedIfEmpty())
        }
        print(safeguard ? "SAFEGUARD : 3 demandes en attente et une semaine d'historique créées." : "SAFEGUARD contient déjà des demandes : rien n'a été ajouté.")
        print(supervision ? "SUPERVISION : 30 jours d'activité des workflows créés." : "SUPERVISION contient déjà des données : rien n'a été ajouté.")
    }
}

struct DemoLive: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "live",
        abstract: "Envoie au serveur un événement des workflows toutes les quelques secondes (ticket traité, alerte Observium, erreur), jusqu'à Ctrl-C.",
        discussion: "Par HTTP, comme les workflows : le webhook Observium avec OBSERVIUM_WEBHOOK_TOKEN, les événements avec les jetons SUPPORT et SENTINEL de WORKFLOW_TOKENS."
    )

    @Option(help: "Adresse du serveur WIDIP.") var url = "http://127.0.0.1:3002"
    @Option(help: "Secondes entre deux événements, en moyenne.") var interval = 5
    @Option(help: "Nombre d'événements avant de s'arrêter (par défaut : jusqu'à Ctrl-C).") var count: Int?

    func run() async throws {
        guard interval >= 1, interval <= 3600 else { throw ValidationError("--interval : entre 1 et 3600 secondes.") }
        try await withServices { services in
            try await SupervisionDemo(services: services).live(baseURL: url, interval: .seconds(interval), iterations: count)
        }
    }
}

struct KnowledgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kb", abstract: "Base de connaissances de l'assistant (widip_knowledge_base).", subcommands: [KnowledgeImportCommand.self, KnowledgeReembedCommand.self]
    )
}

struct KnowledgeImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Importe les fichiers .md et .txt d'un dossier (ou un fichier), découpés en passages.",
        discussion: "Relancé, il ne change que ce qui a changé. En-tête facultatif entre deux lignes --- : titre, type (procedure, ticket, documentation), client, ticket, lien, maj (AAAA-MM-JJ)."
    )

    @Argument(help: "Dossier ou fichier à importer.")
    var path: String

    func run() async throws {
        let path = path
        let report = try await withServices { services in
            _ = try await services.migrate()
            return try await KnowledgeImport(services: services).run(path) { done, total, key in
                FileHandle.standardError.write(Data("\r[\(done)/\(total)] \(key.prefix(60))\u{1B}[K".utf8))
            }
        }
        FileHandle.standardError.write(Data("\n".utf8))
        print(
            "\(report.documents) documents : \(report.added) passages ajoutés, \(report.updated) modifiés, \(report.unchanged) inchangés, \(report.removed) supprimés."
        )
        for refusal in report.refused { print("refusé : \(refusal)") }
        if !report.refused.isEmpty { throw ExitCode(1) }
    }
}

struct KnowledgeReembedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reembed", abstract: "Oublie tous les embeddings : le serveur les recalcule avec le modèle configuré (changement de modèle ou de dimension)."
    )

    func run() async throws {
        let cleared = try await withServices { services in
            _ = try await services.migrate()
            return try await KnowledgeImport(services: services).forgetEmbeddings()
        }
        print("\(cleared) passages à recalculer : les instances de widip serve s'en chargent (EMBEDDING_BASE_URL).")
    }
}

extension AccreditationLevel: ExpressibleByArgument {}
