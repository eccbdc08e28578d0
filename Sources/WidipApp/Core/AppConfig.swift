import Configuration
import Foundation
import NIOCore
import SystemPackage

/// Every setting the server reads, once, at start. A missing or invalid value is a `ConfigError` naming the variable.
public struct AppConfig: Sendable {
    public var port: Int
    public var host: String
    public var jwtSecret: String
    public var jwtExpireHours: Int
    public var databaseURL: DatabaseURL
    public var mcpServerURL: String?
    public var mcpAPIKey: String?
    /// WIBOT's model servers, the model of each mode and the limits of an answer.
    public var chat: ChatSettings
    /// The Assistant WIDIP mode's tool rounds and prompt budget.
    public var assistant: AssistantSettings
    /// The knowledge base's embedding service.
    public var embeddings: EmbeddingSettings
    public var corsOrigins: [String]
    public var rateLimitPerMinute: Int
    public var bcryptCost: Int
    /// Maximum number of pooled Postgres connections of this instance.
    public var databasePoolSize: Int
    /// Display time zone for the French UI (storage and the API stay in UTC).
    public var displayTimeZone: TimeZone
    /// How long event rows are kept for clients to resume from.
    public var eventRetention: Duration
    /// Offer per-message compression (permessage-deflate) to WebSocket clients. Off: the messages are small and
    /// compression costs more CPU than it saves bytes (see the README's figures).
    public var webSocketCompression: Bool
    /// How long one MCP tool call may take before it is cancelled.
    public var mcpCallTimeout: Duration
    /// Security levels that replace the catalogue's (`MCP_TOOL_LEVELS`).
    public var mcpToolLevels: [String: ToolLevel]
    /// Bearer token a Prometheus scraper presents at `/metrics`; without it, `/metrics` is not served.
    public var metricsToken: String?
    /// How long a client connection may take to send its first request head, and stay idle between requests.
    public var connectionTimeouts: ConnectionTimeouts
    /// Proxies whose `X-Forwarded-Proto` is believed (`TRUSTED_PROXIES`, IP addresses separated by commas).
    public var trustedProxies: TrustedProxies
    /// The Phase 1 workflows allowed to call the platform, by name, each with its own token (`WORKFLOW_TOKENS`).
    public var workflowTokens: WorkflowTokens
    /// SAFEGUARD's delays and limits.
    public var safeguard: SafeguardSettings
    /// GLPI's web address, for links to a ticket (`GLPI_URL`).
    public var glpiURL: String?
    /// SUPERVISION's webhook token, health checks and demo.
    public var supervision: SupervisionSettings

    public init(
        port: Int = 3002,
        host: String = "0.0.0.0",
        jwtSecret: String,
        jwtExpireHours: Int = 8,
        databaseURL: DatabaseURL,
        mcpServerURL: String? = nil,
        mcpAPIKey: String? = nil,
        chat: ChatSettings = ChatSettings(),
        assistant: AssistantSettings = AssistantSettings(),
        embeddings: EmbeddingSettings = EmbeddingSettings(),
        corsOrigins: [String] = [],
        rateLimitPerMinute: Int = 100,
        bcryptCost: Int = 12,
        databasePoolSize: Int = 20,
        displayTimeZone: TimeZone = TimeZone(identifier: "Europe/Paris")!,
        eventRetention: Duration = .seconds(72 * 3600),
        webSocketCompression: Bool = false,
        mcpCallTimeout: Duration = .seconds(30),
        mcpToolLevels: [String: ToolLevel] = [:],
        metricsToken: String? = nil,
        connectionTimeouts: ConnectionTimeouts = ConnectionTimeouts(),
        trustedProxies: TrustedProxies = TrustedProxies(),
        workflowTokens: WorkflowTokens = WorkflowTokens(),
        safeguard: SafeguardSettings = SafeguardSettings(),
        glpiURL: String? = nil,
        supervision: SupervisionSettings = SupervisionSettings()
    ) {
        self.port = port
        self.host = host
        self.jwtSecret = jwtSecret
        self.jwtExpireHours = jwtExpireHours
        self.databaseURL = databaseURL
        self.mcpServerURL = mcpServerURL
        self.mcpAPIKey = mcpAPIKey
        self.chat = chat
        self.assistant = assistant
        self.embeddings = embeddings
        self.corsOrigins = corsOrigins
        self.rateLimitPerMinute = rateLimitPerMinute
        self.bcryptCost = bcryptCost
        self.databasePoolSize = databasePoolSize
        self.displayTimeZone = displayTimeZone
        self.eventRetention = eventRetention
        self.webSocketCompression = webSocketCompression
        self.mcpCallTimeout = mcpCallTimeout
        self.mcpToolLevels = mcpToolLevels
        self.metricsToken = metricsToken
        self.connectionTimeouts = connectionTimeouts
        self.trustedProxies = trustedProxies
        self.workflowTokens = workflowTokens
        self.safeguard = safeguard
        self.glpiURL = glpiURL
        self.supervision = supervision
    }

    /// The MCP endpoint: `MCP_SERVER_URL` as given, or with `/mcp` added when it names only a server
    /// (`http://localhost:3001`, as in the PRD).
    public var mcpEndpoint: String? {
        guard let mcpServerURL, var components = URLComponents(string: mcpServerURL) else { return nil }
        if components.path.isEmpty || components.path == "/" { components.path = "/mcp" }
        return components.string
    }
}

public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public let variable: String
    public let problem: String
    public var description: String { "\(variable): \(problem)" }
}

extension AppConfig {
    /// The settings files read after the process environment, first found wins for each variable:
    /// `.env` in the working directory, then the file `./run` keeps for the embedded database.
    public static let settingsFiles = [".env", "var/local.env"]

    /// Reads the process environment, then the settings files.
    public static func load(
        environment: [String: String] = ProcessInfo.processInfo.environment, files: [String] = settingsFiles
    ) async throws -> AppConfig {
        var providers: [any ConfigProvider] = [
            EnvironmentVariablesProvider(environmentVariables: environment, secretsSpecifier: .specific(secretNames))
        ]
        for file in files {
            providers.append(
                try await EnvironmentVariablesProvider(
                    environmentFilePath: FilePath(file),
                    allowMissing: true,
                    secretsSpecifier: .specific(secretNames)
                )
            )
        }
        return try AppConfig(reader: ConfigReader(providers: providers))
    }

    static let secretNames: Set<String> = ["JWT_SECRET", "DATABASE_URL", "MCP_API_KEY", "MISTRAL_API_KEY", "OPENAI_API_KEY", "EMBEDDING_API_KEY", "METRICS_TOKEN", "WORKFLOW_TOKENS", "OBSERVIUM_WEBHOOK_TOKEN"]

    init(reader: ConfigReader) throws {
        // Docker secrets (PRD 6.1): every secret may instead be in a file named by `NAME_FILE`, read once here.
        var fromFiles: [String: String] = [:]
        for name in Self.secretNames.sorted() {
            guard let path = reader.string(forKey: ConfigKey(name + "_FILE"))?.trimmingCharacters(in: .whitespaces), !path.isEmpty else { continue }
            if reader.string(forKey: ConfigKey(name), isSecret: true)?.trimmingCharacters(in: .whitespaces).isEmpty == false {
                throw ConfigError(variable: name + "_FILE", problem: "\(name) est aussi défini : gardez l'un ou l'autre")
            }
            guard let data = FileManager.default.contents(atPath: path), let content = String(data: data, encoding: .utf8) else {
                throw ConfigError(variable: name + "_FILE", problem: "fichier illisible : \(path)")
            }
            // A file written by an editor or `echo` ends with a newline that is not part of the secret.
            fromFiles[name] = content.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        func text(_ name: String) -> String? {
            if let value = fromFiles[name] { return value.isEmpty ? nil : value }
            guard let value = reader.string(forKey: ConfigKey(name), isSecret: Self.secretNames.contains(name)) else { return nil }
            let trimmed = value.trimmingCharacters(in: .whitespaces)
            return trimmed.isEmpty ? nil : trimmed
        }
        func integer(_ name: String, default fallback: Int, range: ClosedRange<Int>) throws -> Int {
            guard let raw = text(name) else { return fallback }
            guard let value = Int(raw), range.contains(value) else {
                throw ConfigError(variable: name, problem: "doit être un entier entre \(range.lowerBound) et \(range.upperBound) (reçu « \(raw) »)")
            }
            return value
        }
        func url(_ name: String) throws -> String? {
            guard let raw = text(name) else { return nil }
            guard let parsed = URL(string: raw), let scheme = parsed.scheme, ["http", "https"].contains(scheme), parsed.host != nil else {
                throw ConfigError(variable: name, problem: "doit être une URL http(s) complète, par exemple http://localhost:3001")
            }
            return raw
        }

        func healthInterval() throws -> Duration? {
            let seconds = try integer("HEALTH_CHECK_INTERVAL_SECONDS", default: 30, range: 0...3600)
            guard seconds == 0 || seconds >= 5 else {
                throw ConfigError(variable: "HEALTH_CHECK_INTERVAL_SECONDS", problem: "0 (pas de vérification sur cette instance) ou de 5 à 3600 secondes")
            }
            return seconds == 0 ? nil : .seconds(seconds)
        }
        func longToken(_ name: String) throws -> String? {
            guard let value = text(name) else { return nil }
            guard value.utf8.count >= 24 else {
                throw ConfigError(variable: name, problem: "trop court : il faut au moins 24 caractères aléatoires")
            }
            return value
        }

        guard let secret = text("JWT_SECRET") else {
            throw ConfigError(variable: "JWT_SECRET", problem: "manquant : définissez un secret aléatoire d'au moins 32 caractères")
        }
        guard secret.utf8.count >= 32 else {
            throw ConfigError(variable: "JWT_SECRET", problem: "trop court (\(secret.utf8.count) caractères) : il en faut au moins 32")
        }
        guard let databaseText = text("DATABASE_URL") else {
            throw ConfigError(variable: "DATABASE_URL", problem: "manquant : postgresql://utilisateur:motdepasse@hôte:5432/base")
        }
        let database: DatabaseURL
        do {
            database = try DatabaseURL(parsing: databaseText)
        } catch let error as DatabaseURL.ParseError {
            throw ConfigError(variable: "DATABASE_URL", problem: error.reason)
        }
        let origins = (text("CORS_ORIGINS") ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        for origin in origins {
            guard origin != "*" else {
                throw ConfigError(variable: "CORS_ORIGINS", problem: "« * » est interdit : listez les origines autorisées, séparées par des virgules")
            }
            guard let parsed = URL(string: origin), let scheme = parsed.scheme, ["http", "https"].contains(scheme), parsed.host != nil,
                parsed.path.isEmpty || parsed.path == "/"
            else {
                throw ConfigError(variable: "CORS_ORIGINS", problem: "« \(origin) » n'est pas une origine (schéma://hôte[:port])")
            }
        }
        let proxies = (text("TRUSTED_PROXIES") ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        for proxy in proxies where (try? SocketAddress(ipAddress: proxy, port: 0)) == nil {
            throw ConfigError(variable: "TRUSTED_PROXIES", problem: "« \(proxy) » n'est pas une adresse IP (par exemple 10.0.0.2)")
        }
        let zoneName = text("DISPLAY_TIME_ZONE") ?? "Europe/Paris"
        guard let zone = TimeZone(identifier: zoneName) else {
            throw ConfigError(variable: "DISPLAY_TIME_ZONE", problem: "fuseau horaire inconnu « \(zoneName) »")
        }

        self.init(
            port: try integer("PORT", default: 3002, range: 0...65535),
            host: text("HOST") ?? "0.0.0.0",
            jwtSecret: secret,
            jwtExpireHours: try integer("JWT_EXPIRE_HOURS", default: 8, range: 1...720),
            databaseURL: database,
            mcpServerURL: try url("MCP_SERVER_URL"),
            mcpAPIKey: text("MCP_API_KEY"),
            chat: try ChatSettings.read(text: text, integer: { try integer($0, default: $1, range: $2) }, url: url),
            assistant: AssistantSettings(
                maxToolRounds: try integer("ASSISTANT_MAX_TOOL_ROUNDS", default: 4, range: 0...20),
                passages: try integer("ASSISTANT_PASSAGES", default: 5, range: 0...20),
                passageCharacters: try integer("ASSISTANT_PASSAGE_CHARACTERS", default: 2400, range: 0...50_000)
            ),
            embeddings: try EmbeddingSettings.read(text: text, integer: { try integer($0, default: $1, range: $2) }, url: url),
            corsOrigins: origins.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 },
            rateLimitPerMinute: try integer("RATE_LIMIT_PER_MINUTE", default: 100, range: 1...1_000_000),
            bcryptCost: try integer("BCRYPT_COST", default: 12, range: 4...31),
            databasePoolSize: try integer("DATABASE_POOL_SIZE", default: 20, range: 1...500),
            displayTimeZone: zone,
            eventRetention: .seconds(try integer("EVENT_RETENTION_HOURS", default: 72, range: 1...8760) * 3600),
            webSocketCompression: try integer("WS_COMPRESSION", default: 0, range: 0...1) == 1,
            mcpCallTimeout: .seconds(try integer("MCP_TIMEOUT_SECONDS", default: 30, range: 1...600)),
            mcpToolLevels: try ToolCatalogue.parseOverrides(text("MCP_TOOL_LEVELS") ?? ""),
            metricsToken: try longToken("METRICS_TOKEN"),
            connectionTimeouts: ConnectionTimeouts(
                requestHead: .seconds(try integer("HTTP_HEADER_TIMEOUT_SECONDS", default: 10, range: 1...300)),
                idle: .seconds(try integer("HTTP_IDLE_TIMEOUT_SECONDS", default: 60, range: 1...3600))
            ),
            trustedProxies: TrustedProxies(addresses: Set(proxies)),
            workflowTokens: WorkflowTokens(try WorkflowTokens.parse(text("WORKFLOW_TOKENS") ?? "")),
            safeguard: SafeguardSettings(
                maximumExpiry: .seconds(60 * (try integer("SAFEGUARD_MAX_EXPIRY_MINUTES", default: 60, range: 1...1440))),
                postponeStep: .seconds(60 * (try integer("SAFEGUARD_POSTPONE_MINUTES", default: 15, range: 1...240))),
                maximumPostpones: try integer("SAFEGUARD_MAX_POSTPONES", default: 2, range: 0...20),
                escalationLead: .seconds(60 * (try integer("SAFEGUARD_ESCALATION_MINUTES", default: 10, range: 0...1440))),
                executionWindow: .seconds(60 * (try integer("SAFEGUARD_EXECUTION_WINDOW_MINUTES", default: 15, range: 1...1440)))
            ),
            glpiURL: try url("GLPI_URL"),
            supervision: SupervisionSettings(
                observiumWebhookToken: try longToken("OBSERVIUM_WEBHOOK_TOKEN"),
                observiumURL: try url("OBSERVIUM_URL"),
                healthCheckInterval: try healthInterval()
            )
        )
    }
}
