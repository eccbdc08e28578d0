import Foundation
import Logging

/// Hybrid retrieval (PRD 3.1.3): the question's nearest chunks by meaning and its best chunks by French full text,
/// merged by reciprocal-rank fusion. Each kind finds what the other misses: full text a ticket number or a device
/// name, vectors the same fact in other words. Without a reachable embedding service, full text alone answers and
/// the result says so.
public struct KnowledgeSearch: Sendable {
    let repository: KnowledgeRepository
    let embeddings: EmbeddingClient
    let logger: Logger

    public struct Result: Sendable {
        public let hits: [KnowledgeHit]
        /// False when only full text could be used (no embedding service, or it did not answer).
        public let usedVectors: Bool
    }

    /// The fusion's constant: 60, as in the original paper (Cormack et al., 2009); it keeps one list's first place
    /// from outweighing agreement between the two.
    static let fusionConstant = 60.0

    public func search(_ question: String, client: String? = nil, limit: Int = 5, candidates: Int = 20) async throws -> Result {
        var vector: [Float]?
        if embeddings.isConfigured {
            do {
                vector = try await embeddings.embed([question], for: .query)[0]
            } catch {
                logger.warning("Knowledge search without vectors", metadata: ["error": "\(error)"])
            }
        }
        return try await search(question, vector: vector, client: client, limit: limit, candidates: candidates)
    }

    /// The search once the question is embedded (`vector`), or by full text alone (nil).
    public func search(_ question: String, vector: [Float]?, client: String? = nil, limit: Int = 5, candidates: Int = 20) async throws -> Result {
        async let lexical = repository.fullText(question, client: client, limit: candidates)
        let semantic = try await vector.asyncMap { try await repository.nearest($0, client: client, limit: candidates) }
        return Result(hits: Self.fuse([try await lexical] + (semantic.map { [$0] } ?? []), limit: limit), usedVectors: semantic != nil)
    }

    /// Reciprocal-rank fusion: each list gives 1/(k + rank) to each of its hits; ties keep the first list's order.
    public static func fuse(_ lists: [[KnowledgeHit]], limit: Int) -> [KnowledgeHit] {
        var scores: [Int: Double] = [:]
        var firstSeen: [Int: (order: Int, hit: KnowledgeHit)] = [:]
        var order = 0
        for list in lists {
            for (rank, hit) in list.enumerated() {
                scores[hit.id, default: 0] += 1 / (fusionConstant + Double(rank + 1))
                if firstSeen[hit.id] == nil {
                    firstSeen[hit.id] = (order, hit)
                    order += 1
                }
            }
        }
        return firstSeen.values.sorted { left, right in
            let (a, b) = (scores[left.hit.id]!, scores[right.hit.id]!)
            return a != b ? a > b : left.order < right.order
        }.prefix(limit).map(\.hit)
    }
}

extension Optional {
    fileprivate func asyncMap<Mapped>(_ transform: (Wrapped) async throws -> Mapped) async rethrows -> Mapped? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
