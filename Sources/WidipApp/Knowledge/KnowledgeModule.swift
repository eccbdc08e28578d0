import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

extension AppServices {
    /// The assistant's retrieval and its table, for the tools and the benchmark that measure them.
    public var knowledgeSearch: KnowledgeSearch { KnowledgeSearch(repository: knowledge, embeddings: embeddings, logger: logger) }
    public var knowledgeBase: KnowledgeRepository { knowledge }
}

/// The knowledge base: its chunks are embedded in the background, whoever wrote them (import, Phase 1), and the
/// sources technicians find out of date are recorded.
struct KnowledgeModule: AppModule {
    let embedder: KnowledgeEmbedder
    let audit: AuditRepository

    var accessRules: [RouteRule] { KnowledgeController.accessRules }
    var services: [any Service] { [embedder] }

    func addRoutes(to routes: ModuleRoutes) throws {
        let controller = KnowledgeController(repository: embedder.repository, audit: audit, embedderSignal: embedder.signal)
        controller.addRoutes(to: routes.signedIn)
        controller.addRoutes(workflows: routes.workflows)
    }
}

/// Embeds the chunks that have no embedding, in batches, on every instance at once without doing any twice; makes
/// the HNSW index for the configured dimension first. Without an embedding service it does nothing: search then
/// runs on full text alone.
struct KnowledgeEmbedder: Service {
    let repository: KnowledgeRepository
    let embeddings: EmbeddingClient
    let ready: DatabaseReady
    let logger: Logger
    var batch = 32
    var idleSleep: Duration = .seconds(5)
    let signal = WakeSignal()

    func run() async throws {
        guard embeddings.isConfigured else {
            try? await gracefulShutdown()
            return
        }
        let failing = FailureLog(logger: logger)
        let settings = embeddings.settings
        let indexed = Once()
        try await runRounds(ready: ready, signal: signal, longestSleep: idleSleep, logger: logger, failure: "Knowledge embedding failed") {
            if !indexed.isDone {
                // Refused by the database (pgvector older than 0.5 has no HNSW): said once, and search still works, by
                // a full scan. A lost connection is tried again next round.
                do {
                    try await repository.ensureVectorIndex(dimensions: settings.dimensions)
                } catch let error as PSQLError where error.code == .server {
                    logger.warning("Knowledge vector index not created; searches scan", metadata: ["error": "\(String(reflecting: error))"])
                }
                indexed.markDone()
            }
            do {
                let done = try await repository.embedPending(batch: batch, model: settings.passageModel) {
                    try await embeddings.embed($0, for: .passage)
                }
                failing.recovered()
                // More may be waiting: go on at once; otherwise look again in a while.
                return done > 0 ? Date() : Date().addingTimeInterval(idleSleep.seconds)
            } catch let failure as EmbeddingClient.Failure {
                failing.failed(failure.description)
                return Date().addingTimeInterval(30)
            }
        }
    }

    final class Once: Sendable {
        private let done = Mutex(false)
        var isDone: Bool { done.withLock { $0 } }
        func markDone() { done.withLock { $0 = true } }
    }

    /// One warning when the service starts failing, one line when it is back: not one per round.
    final class FailureLog: Sendable {
        let logger: Logger
        private let failing = Mutex(false)
        init(logger: Logger) { self.logger = logger }

        func failed(_ reason: String) {
            if !failing.withLock({ let was = $0; $0 = true; return was }) {
                logger.warning("Knowledge embeddings paused", metadata: ["reason": "\(reason)"])
            }
        }

        func recovered() {
            if failing.withLock({ let was = $0; $0 = false; return was }) { logger.info("Knowledge embeddings resumed") }
        }
    }
}
