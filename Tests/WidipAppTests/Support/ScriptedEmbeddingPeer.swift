import Foundation
import Hummingbird
import NIOCore
import Synchronization
@testable import WidipApp

/// An embedding server over a real socket speaking OpenAI's `/v1/embeddings`, whose vectors stand for meaning in a
/// way tests can reason about: one dimension per topic, counting the topic's words (synonyms included), so « switch »
/// and « commutateur » land together where full text sees two different words.
final class ScriptedEmbeddingPeer: Sendable {
    static let topics: [[String]] = [
        ["switch", "commutateur", "réseau", "routeur", "wifi", "liaison"],
        ["imprimante", "impression", "spouleur", "toner"],
        ["mot de passe", "compte", "session", "verrouillé"],
        ["alimentation", "électrique", "coupure", "onduleur"],
    ]
    static let dimensions = topics.count + 1

    let port: Int
    private let server: InProcessServer
    private let models = Mutex<[String]>([])

    var baseURL: String { "http://127.0.0.1:\(port)/v1" }
    /// The model named by each request, in order (`e5-passage` for chunks, `e5-query` for questions).
    var requestedModels: [String] { models.withLock { $0 } }

    private init(port: Int, server: InProcessServer) {
        self.port = port
        self.server = server
    }

    static func vector(_ text: String) -> [Float] {
        let lowered = text.lowercased()
        var vector = topics.map { words in Float(words.reduce(0) { $0 + lowered.components(separatedBy: $1).count - 1 }) }
        // Never a zero vector: its cosine distance is undefined.
        vector.append(0.05)
        let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return vector.map { $0 / norm }
    }

    static func with<Value>(_ body: (ScriptedEmbeddingPeer) async throws -> Value) async throws -> Value {
        let boxed = Boxed()
        let router = Router()
        router.post("/v1/embeddings") { request, _ in
            let body = try await request.body.collect(upTo: 16 << 20)
            guard case .object(let fields)? = try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: body)),
                case .array(let inputs)? = fields["input"], case .string(let model)? = fields["model"]
            else { return Response(status: .badRequest) }
            boxed.box.withLock { $0 }?.models.withLock { $0.append(model) }
            let data = inputs.enumerated().map { index, input -> JSONValue in
                let text = if case .string(let text) = input { text } else { "" }
                return .object(["index": .number(Double(index)), "embedding": .array(vector(text).map { .number(Double($0)) })])
            }
            let reply = try JSONEncoder().encode(JSONValue.object(["data": .array(data)]))
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: reply)))
        }
        let (port, server) = try await serveInProcess(router, name: "scripted embedding peer")
        let peer = ScriptedEmbeddingPeer(port: port, server: server)
        boxed.box.withLock { $0 = peer }
        return try await stopping(peer, { peer in { await peer.server.stop() } }, body)
    }

    private final class Boxed: Sendable {
        let box = Mutex<ScriptedEmbeddingPeer?>(nil)
    }

    var settings: EmbeddingSettings { EmbeddingSettings(baseURL: baseURL, dimensions: Self.dimensions) }
}
