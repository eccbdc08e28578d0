import Foundation

/// WIBOT's four modes (PRD 3.1.1).
public enum ChatMode: String, CaseIterable, Sendable, Codable {
    case flash, code, redaction, assistant

    var label: String {
        switch self {
        case .flash: "Flash"
        case .code: "Code"
        case .redaction: "Rédaction"
        case .assistant: "Assistant WIDIP"
        }
    }

    var summary: String {
        switch self {
        case .flash: "Questions rapides"
        case .code: "Programmation, débogage"
        case .redaction: "Textes longs, rapports"
        case .assistant: "Mode expert : outils MCP et base de connaissances"
        }
    }

    /// PRD 3.1.1: a hard limit on the whole answer.
    public var defaultTimeout: Duration {
        switch self {
        case .flash: .seconds(30)
        case .code: .seconds(60)
        case .redaction: .seconds(90)
        case .assistant: .seconds(180)
        }
    }

    /// An answer's cap, reserved against the quota before the model is called.
    public var defaultMaxTokens: Int {
        switch self {
        case .flash: 1024
        case .code, .assistant: 2048
        case .redaction: 4096
        }
    }

    /// Short on purpose: a small offline model reads prompts at about 40 tokens/s, so every token costs.
    var systemPrompt: String {
        switch self {
        case .flash:
            "Tu es WIBOT, l'assistant des techniciens de WIDIP (infogérance de cliniques et d'EHPAD). Réponds en français, brièvement et précisément."
        case .code:
            "Tu es WIBOT en mode Code, pour les techniciens de WIDIP. Réponds en français ; donne du code correct et commenté dans des blocs Markdown avec leur langage (PowerShell, Bash, Python, SQL…)."
        case .redaction:
            "Tu es WIBOT en mode Rédaction, pour WIDIP. Rédige en français soigné des textes structurés (comptes rendus, courriels, procédures) en Markdown."
        case .assistant:
            // PRD 3.1.2's prompt; the tools are described by the request's `tools`, not listed again here.
            "Tu es l'Assistant WIDIP, un expert IT pour l'infogérance (cliniques, EHPAD). Utilise les outils pour répondre aux questions techniques. Privilégie toujours les données réelles aux suppositions : n'invente ni nom d'équipement ni résultat. Réponds en français, brièvement, avec les faits et leur origine (outil ou extrait [n])."
        }
    }
}

/// Which model servers exist, which model answers each mode, and the limits of an answer.
public struct ChatSettings: Sendable {
    public struct Provider: Sendable, Equatable {
        /// `ollama`, `mistral` or `openai` (any OpenAI-compatible server).
        public var name: String
        public var baseURL: String
        public var apiKey: String?
        /// Generations this instance sends it at once; the others wait in line.
        public var maxConcurrent: Int

        public init(name: String, baseURL: String, apiKey: String? = nil, maxConcurrent: Int = 4) {
            self.name = name
            self.baseURL = baseURL
            self.apiKey = apiKey
            self.maxConcurrent = maxConcurrent
        }

        /// How users see it in messages: the kind and its origin, never the key.
        var label: String {
            let origin = URL(string: baseURL).flatMap { url in url.host.map { "\(url.scheme ?? "http")://\($0)\(url.port.map { ":\($0)" } ?? "")" } } ?? baseURL
            switch name {
            case "ollama": return "Ollama (\(origin))"
            case "mistral": return "Mistral (\(origin))"
            default: return "le serveur LLM \(origin)"
            }
        }
    }

    public struct Route: Sendable, Equatable {
        public var provider: String
        public var model: String

        public init(provider: String, model: String) {
            self.provider = provider
            self.model = model
        }
    }

    public var providers: [Provider]
    public var routes: [ChatMode: Route]
    public var timeouts: [ChatMode: Duration]
    public var maxTokens: [ChatMode: Int]
    /// PRD 6.4: 30 messages per minute per user, shared across instances.
    public var messagesPerMinute: Int
    /// Silence from a provider after which an answer is abandoned.
    public var stallTimeout: Duration
    /// Set by `./run` when it started the small offline model: the chat page says so.
    public var offlineModel: String?
    /// How much of the conversation is sent back with each message (characters, newest kept).
    public var historyCharacters: Int
    /// Debian's libjs-highlight.js, served under `/static/highlight/` to colour code blocks when it is installed
    /// (`HIGHLIGHT_JS_DIR`); without it code blocks are shown plain.
    public var highlightDirectory: String

    public init(
        providers: [Provider] = [], routes: [ChatMode: Route] = [:], timeouts: [ChatMode: Duration] = [:], maxTokens: [ChatMode: Int] = [:],
        messagesPerMinute: Int = 30, stallTimeout: Duration = .seconds(30), offlineModel: String? = nil, historyCharacters: Int = 12_000,
        openAIModel: String = "default", highlightDirectory: String = ChatSettings.debianHighlightDirectory
    ) {
        self.providers = providers
        self.timeouts = timeouts
        self.maxTokens = maxTokens
        self.messagesPerMinute = messagesPerMinute
        self.stallTimeout = stallTimeout
        self.offlineModel = offlineModel
        self.historyCharacters = historyCharacters
        self.highlightDirectory = highlightDirectory
        var routes = routes
        // A mode without its own route goes to the first provider, with that provider's usual model for it.
        if let first = providers.first {
            for mode in ChatMode.allCases where routes[mode] == nil {
                routes[mode] = Route(provider: first.name, model: Self.defaultModel(for: mode, on: first.name, openAIModel: openAIModel))
            }
        }
        self.routes = routes
    }

    public static let debianHighlightDirectory = "/usr/share/javascript/highlight.js"
    static let highlightURLBase = "/static/highlight"

    /// The directory to serve highlight.js from, when its script is really there.
    var highlightScriptDirectory: String? {
        FileManager.default.isReadableFile(atPath: highlightDirectory + "/highlight.min.js") ? highlightDirectory : nil
    }

    public func timeout(_ mode: ChatMode) -> Duration { timeouts[mode] ?? mode.defaultTimeout }
    public func maxTokens(_ mode: ChatMode) -> Int { maxTokens[mode] ?? mode.defaultMaxTokens }

    /// PRD 3.1.1's models, named as each server knows them.
    static func defaultModel(for mode: ChatMode, on provider: String, openAIModel: String) -> String {
        switch (provider, mode) {
        case ("mistral", .flash): "mistral-small-latest"
        case ("mistral", .code): "codestral-latest"
        case ("mistral", _): "mistral-large-latest"
        case ("ollama", .flash): "mistral-small"
        case ("ollama", .code): "codestral"
        case ("ollama", _): "mistral-large"
        default: openAIModel
        }
    }

    /// Reads `OLLAMA_BASE_URL`, `MISTRAL_API_KEY`, `OPENAI_BASE_URL` and the `CHAT_*` settings. Providers are
    /// preferred in that order (Mistral, Ollama, OpenAI-compatible) for the modes that do not name one.
    static func read(
        text: (String) -> String?, integer: (String, Int, ClosedRange<Int>) throws -> Int, url: (String) throws -> String?
    ) throws -> ChatSettings {
        var providers: [Provider] = []
        if let key = text("MISTRAL_API_KEY") {
            providers.append(
                Provider(
                    name: "mistral", baseURL: Self.trimmed(try url("MISTRAL_BASE_URL") ?? "https://api.mistral.ai/v1"), apiKey: key,
                    maxConcurrent: try integer("MISTRAL_MAX_CONCURRENT", 8, 1...1000)
                )
            )
        }
        if let base = try url("OLLAMA_BASE_URL") {
            providers.append(Provider(name: "ollama", baseURL: Self.trimmed(base), maxConcurrent: try integer("OLLAMA_MAX_CONCURRENT", 4, 1...1000)))
        }
        if let base = try url("OPENAI_BASE_URL") {
            providers.append(
                Provider(name: "openai", baseURL: Self.trimmed(base), apiKey: text("OPENAI_API_KEY"), maxConcurrent: try integer("OPENAI_MAX_CONCURRENT", 4, 1...1000))
            )
        }
        var routes: [ChatMode: Route] = [:]
        for mode in ChatMode.allCases {
            let variable = "CHAT_MODEL_\(mode.rawValue.uppercased())"
            if let value = text(variable) {
                let parts = value.split(separator: ":", maxSplits: 1).map(String.init)
                let (provider, model): (String?, String) = parts.count == 2 && ["ollama", "mistral", "openai"].contains(parts[0]) ? (parts[0], parts[1]) : (nil, value)
                guard let chosen = provider ?? providers.first?.name else {
                    throw ConfigError(variable: variable, problem: "aucun fournisseur LLM configuré (OLLAMA_BASE_URL, MISTRAL_API_KEY ou OPENAI_BASE_URL)")
                }
                guard providers.contains(where: { $0.name == chosen }) else {
                    throw ConfigError(variable: variable, problem: "le fournisseur « \(chosen) » n'est pas configuré")
                }
                routes[mode] = Route(provider: chosen, model: model)
            }
        }
        return ChatSettings(
            providers: providers, routes: routes, messagesPerMinute: try integer("CHAT_MESSAGES_PER_MINUTE", 30, 1...10_000),
            stallTimeout: .seconds(try integer("LLM_STALL_SECONDS", 30, 1...600)), offlineModel: text("LLM_OFFLINE_MODEL"),
            openAIModel: text("OPENAI_MODEL") ?? "default", highlightDirectory: text("HIGHLIGHT_JS_DIR") ?? Self.debianHighlightDirectory
        )
    }

    private static func trimmed(_ url: String) -> String {
        url.hasSuffix("/") ? String(url.dropLast()) : url
    }
}
