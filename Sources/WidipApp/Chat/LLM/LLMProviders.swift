import AsyncHTTPClient
import Foundation

/// The configured model servers, each with its queue, and which one answers each mode.
public struct LLMProviders: Sendable {
    struct Entry: Sendable {
        let settings: ChatSettings.Provider
        let provider: any LLMProvider
        let gate: ProviderGate
    }

    let settings: ChatSettings
    private let entries: [String: Entry]

    init(settings: ChatSettings, httpClient: HTTPClient) {
        self.settings = settings
        var entries: [String: Entry] = [:]
        for provider in settings.providers {
            let http = LLMHTTPStream(httpClient: httpClient, stallTimeout: settings.stallTimeout, label: provider.label)
            let implementation: any LLMProvider =
                provider.name == "ollama"
                ? OllamaProvider(baseURL: provider.baseURL, http: http)
                : OpenAICompatibleProvider(
                    name: provider.name, baseURL: provider.baseURL, apiKey: provider.apiKey, requestsUsage: provider.name != "mistral", http: http
                )
            entries[provider.name] = Entry(settings: provider, provider: implementation, gate: ProviderGate(limit: provider.maxConcurrent))
        }
        self.entries = entries
    }

    /// The provider and model that answer `mode`, or nil when no provider is configured.
    func route(_ mode: ChatMode) -> (entry: Entry, model: String)? {
        guard let route = settings.routes[mode], let entry = entries[route.provider] else { return nil }
        return (entry, route.model)
    }

    var isConfigured: Bool { !entries.isEmpty }

    /// Whether each configured provider answers (health page), in configuration order.
    func probeAll() async -> [(settings: ChatSettings.Provider, answers: Bool, latency: Duration)] {
        var results: [(ChatSettings.Provider, Bool, Duration)] = []
        for provider in settings.providers {
            guard let entry = entries[provider.name] else { continue }
            let start = ContinuousClock.now
            let answers = await entry.provider.probe()
            results.append((provider, answers, ContinuousClock.now - start))
        }
        return results
    }
}
