import Foundation
import PostgresNIO
import Testing
@testable import WidipApp

/// The knowledge base the assistant cites: documents imported from files, cut into chunks, found in French.
@Suite("Knowledge base: import and French full-text search", .timeLimit(.minutes(2)))
struct KnowledgeTests {
    /// A folder of knowledge files, removed afterwards.
    static func withFolder<Value>(_ files: [String: String], _ body: (URL) async throws -> Value) async throws -> Value {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kb-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        for (name, text) in files {
            let file = folder.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: file, atomically: true, encoding: .utf8)
        }
        return try await body(folder)
    }

    static let switchTicket = """
        ---
        titre: Switch de la Clinique Saint-Jean : perte de liaison
        type: ticket
        client: Clinique Saint-Jean
        ticket: GLPI-2024-0412
        lien: https://glpi.widip.fr/front/ticket.form.php?id=412
        maj: 2024-03-14
        ---
        Le switch SWITCH-CLIN-STJEAN ne répondait plus au ping depuis la supervision.

        Cause : alimentation défaillante après une coupure électrique. Remplacement du bloc d'alimentation par le
        technicien sur site, liaison rétablie en 2 heures.
        """

    static let printerProcedure = """
        # Imprimante bloquée en file d'attente

        Vider la file d'impression : arrêter le service Spouleur, supprimer les travaux, redémarrer le service.
        """

    static let homeDocumentation = """
        ---
        type: documentation
        client: EHPAD Les Jardins
        ---
        # EHPAD Les Jardins : réseau

        Le routeur de l'EHPAD Les Jardins est chez l'opérateur ; le switch de l'accueil alimente les bornes Wi-Fi.
        """

    @Test func anImportIsIdempotentAndAChangedFileChangesOnlyItsChangedChunks() async throws {
        try await TestDatabase.withFreshDatabase { database in
            try await TestDatabase.withServices(on: database) { services in
                _ = try await services.migrate()
                try await Self.withFolder(["tickets/switch.md": Self.switchTicket, "procedures/imprimante.txt": Self.printerProcedure]) { folder in
                    let first = try await KnowledgeImport(services: services).run(folder.path)
                    #expect(first.documents == 2 && first.added == 2 && first.updated == 0 && first.refused.isEmpty)
                    // Pretend the switch ticket was embedded: an unchanged import must keep its embedding.
                    try await services.postgres.query(
                        "UPDATE widip_knowledge_base SET embedding = '[1,0,0]', embedding_model = 'test' WHERE source_key LIKE 'tickets/%'",
                        logger: TestDatabase.logger
                    )

                    let again = try await KnowledgeImport(services: services).run(folder.path)
                    #expect(again == KnowledgeImport.Report(documents: 2, added: 0, updated: 0, unchanged: 2, removed: 0))
                    #expect(try await Self.embedded(services) == ["tickets/switch.md"], "an unchanged chunk keeps its embedding")

                    try (Self.switchTicket + "\n\nSuivi : switch remplacé en 2025.").write(
                        to: folder.appendingPathComponent("tickets/switch.md"), atomically: true, encoding: .utf8
                    )
                    let changed = try await KnowledgeImport(services: services).run(folder.path)
                    #expect(changed.updated == 1 && changed.unchanged == 1 && changed.added == 0)
                    #expect(try await Self.embedded(services).isEmpty, "a changed chunk is embedded again")
                }
            }
        }
    }

    @Test func frontMatterGivesTheSourceAndAWrongOneIsRefusedByName() async throws {
        try await TestDatabase.withFreshDatabase { database in
            try await TestDatabase.withServices(on: database) { services in
                _ = try await services.migrate()
                let files = [
                    "switch.md": Self.switchTicket, "jardins.md": Self.homeDocumentation,
                    "faux.md": "---\ntype: rumeur\n---\nTexte", "date.md": "---\nmaj: hier\n---\nTexte",
                ]
                try await Self.withFolder(files) { folder in
                    let report = try await KnowledgeImport(services: services).run(folder.path)
                    #expect(report.documents == 2)
                    #expect(report.refused.count == 2)
                    #expect(report.refused.contains { $0.contains("faux.md") && $0.contains("rumeur") })
                    #expect(report.refused.contains { $0.contains("date.md") && $0.contains("hier") })

                    let hit = try #require(try await services.knowledge.fullText("alimentation du switch", limit: 5).first)
                    #expect(hit.title == "Switch de la Clinique Saint-Jean : perte de liaison")
                    #expect(hit.type == "ticket")
                    #expect(hit.client == "Clinique Saint-Jean")
                    #expect(hit.ticketID == "GLPI-2024-0412")
                    #expect(hit.url == "https://glpi.widip.fr/front/ticket.form.php?id=412")
                    #expect(hit.sourceUpdatedAt == Date(timeIntervalSince1970: 1_710_374_400), "2024-03-14")
                    let jardins = try #require(try await services.knowledge.fullText("bornes wifi", limit: 5).first)
                    #expect(jardins.title == "EHPAD Les Jardins : réseau", "the first heading when no title is given")
                    #expect(jardins.type == "documentation")
                }
            }
        }
    }

    @Test func aQuestionFindsItsDocumentsInFrenchAndAClientScopeKeepsToThatClient() async throws {
        try await TestDatabase.withFreshDatabase { database in
            try await TestDatabase.withServices(on: database) { services in
                _ = try await services.migrate()
                let files = ["switch.md": Self.switchTicket, "imprimante.md": Self.printerProcedure, "jardins.md": Self.homeDocumentation]
                try await Self.withFolder(files) { folder in
                    _ = try await KnowledgeImport(services: services).run(folder.path)
                    // A whole question, not keywords: any of its words may match, stemmed in French (« coupures » finds
                    // « coupure »).
                    let hits = try await services.knowledge.fullText("Quel est l'état du switch de la Clinique St-Jean après les coupures ?", limit: 5)
                    #expect(hits.first?.title == "Switch de la Clinique Saint-Jean : perte de liaison")
                    #expect(!hits.contains { $0.title.contains("Imprimante") })
                    // Scoped to EHPAD Les Jardins: its documents and the general ones, never another client's.
                    let scoped = try await services.knowledge.fullText("switch", client: "EHPAD Les Jardins", limit: 5)
                    #expect(scoped.map(\.title) == ["EHPAD Les Jardins : réseau"])
                    #expect(try await services.knowledge.fullText("le la de", limit: 5).isEmpty, "stop words alone find nothing")
                }
            }
        }
    }

    @Test func onALargeBaseAWordInMostChunksIsLeftOutAndOnlyCommonWordsAreAllRequired() async throws {
        try await TestDatabase.withFreshDatabase { database in
            try await TestDatabase.withServices(on: database) { services in
                _ = try await services.migrate()
                let fill = { (count: Int) in
                    try await services.postgres.query(
                        """
                        INSERT INTO widip_knowledge_base (source_key, chunk_index, content, content_hash, title)
                        SELECT 'masse/' || i, 0, 'Imprimante réseau, procédure numéro ' || i, md5(i::text), 'Procédure ' || i
                        FROM generate_series((SELECT count(*) FROM widip_knowledge_base) + 1, (SELECT count(*) FROM widip_knowledge_base) + \(count)) i
                        """,
                        logger: TestDatabase.logger
                    )
                    try await services.postgres.query("ANALYZE widip_knowledge_base", logger: TestDatabase.logger)
                }
                try await services.postgres.query(
                    """
                    INSERT INTO widip_knowledge_base (source_key, chunk_index, content, content_hash, title)
                    VALUES ('rare', 0, 'Onduleur de la baie remplacé ; l''imprimante repart.', 'rare', 'Onduleur')
                    """,
                    logger: TestDatabase.logger
                )
                // A small base: every word counts, the printer's procedures come up with the UPS.
                try await fill(1_000)
                #expect(try await services.knowledge.fullText("imprimante onduleur", limit: 20).count == 20)
                // A large one: « imprimante » is in nearly every chunk and would rank them all; the rare word decides.
                try await fill(24_000)
                #expect(try await services.knowledge.fullText("imprimante onduleur", limit: 20).map(\.title) == ["Onduleur"])
                // Only common words: all of them are required, so the UPS chunk (no « réseau ») is not among them.
                let common = try await services.knowledge.fullText("imprimante réseau", limit: 20)
                #expect(common.count == 20 && !common.contains { $0.title == "Onduleur" })
            }
        }
    }

    @Test func phase1sTableIsAdoptedWithItsRowsWhichBecomeSearchable() async throws {
        try await TestDatabase.withFreshDatabase { database in
            // As ENRICHISSEUR may have made it: its own columns, a fixed dimension, rows without our columns.
            try await TestDatabase.execute("CREATE EXTENSION IF NOT EXISTS vector", on: database)
            try await TestDatabase.execute(
                "CREATE TABLE widip_knowledge_base (id SERIAL PRIMARY KEY, content TEXT NOT NULL, metadata JSONB, embedding vector(3))", on: database
            )
            try await TestDatabase.execute(
                "INSERT INTO widip_knowledge_base (content, metadata, embedding) VALUES ('Redémarrer le spouleur d''impression', '{\"source\": \"n8n\"}', '[1,2,3]')",
                on: database
            )
            try await TestDatabase.withServices(on: database) { services in
                _ = try await services.migrate()
                let hit = try #require(try await services.knowledge.fullText("spouleur", limit: 5).first)
                #expect(hit.content == "Redémarrer le spouleur d'impression")
                var kept: (String, Bool)?
                for try await row in try await services.postgres.query(
                    "SELECT metadata->>'source', embedding IS NOT NULL FROM widip_knowledge_base", logger: TestDatabase.logger
                ).decode((String, Bool).self) { kept = row }
                #expect(kept?.0 == "n8n" && kept?.1 == true, "Phase 1's columns and vectors are kept")
            }
        }
    }

    @Test func theDemoKnowledgeImportsWholeAndAnswersThePRDsSwitchQuestion() async throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("demo/connaissances")
        try await TestDatabase.withFreshDatabase { database in
            try await TestDatabase.withServices(on: database) { services in
                _ = try await services.migrate()
                let report = try await KnowledgeImport(services: services).run(folder.path)
                #expect(report.refused.isEmpty, "\(report.refused)")
                #expect(report.documents >= 8)
                let hits = try await services.knowledge.fullText(
                    "Quel est l'état du switch de la Clinique St-Jean ?", client: "Clinique Saint-Jean", limit: 5
                )
                let tickets = Set(hits.compactMap(\.ticketID))
                #expect(tickets.isSuperset(of: ["CAS-2024-0312", "CAS-2024-0918"]), "the switch's two incidents of 2024: \(hits.map(\.title))")
                #expect(hits.allSatisfy { $0.client == nil || $0.client == "Clinique Saint-Jean" })
            }
        }
    }

    @Test func longDocumentsAreCutWithOverlapAndEveryChunkSaysWhatItIsAbout() throws {
        let paragraphs = (1...12).map { "Étape \($0) : " + String(repeating: "vérifier le câblage du switch ", count: 8) }
        let document = try KnowledgeDocument.parse(key: "long.md", text: "# Procédure longue\n\n" + paragraphs.joined(separator: "\n\n"), fallbackTitle: "x", fallbackDate: nil)
        let chunks = document.chunks(size: 900, overlap: 150)
        #expect(chunks.count >= 3)
        #expect(chunks.allSatisfy { $0.hasPrefix("Procédure longue\n\n") })
        #expect(chunks.allSatisfy { $0.count <= 900 + 200 }, "\(chunks.map(\.count))")
        for (previous, next) in zip(chunks, chunks.dropFirst()) {
            let end = String(previous.suffix(40))
            #expect(next.contains(end), "each chunk starts with the end of the previous one")
        }
        for step in 1...12 { #expect(chunks.contains { $0.contains("Étape \(step) :") }) }
    }

    static func embedded(_ services: AppServices) async throws -> [String] {
        var keys: [String] = []
        for try await key in try await services.postgres.query(
            "SELECT DISTINCT source_key FROM widip_knowledge_base WHERE embedding IS NOT NULL ORDER BY 1", logger: TestDatabase.logger
        ).decode(String.self) {
            keys.append(key)
        }
        return keys
    }
}

/// Retrieval by meaning next to full text, and their fusion.
@Suite("Knowledge base: embeddings and hybrid retrieval", .timeLimit(.minutes(2)))
struct HybridRetrievalTests {
    static let documents = [
        // Found by its ticket number only: no word of the network topic.
        "alimentation.md": "---\ntitre: Ticket GLPI-0412\ntype: ticket\n---\nRemplacement du bloc d'alimentation après une coupure.",
        // Found by meaning only: « commutateur », never « switch ».
        "accueil.md": "---\ntitre: Accueil sans réseau\n---\nLe commutateur de l'accueil ne répond plus : vérifier sa liaison.",
        "routeur.md": "---\ntitre: Routeur de l'EHPAD\n---\nLe routeur et le wifi de l'EHPAD Les Jardins.",
        "imprimante.md": "---\ntitre: Imprimante bloquée\n---\nVider le spouleur d'impression.",
    ]

    static func withEmbeddedBase<Value: Sendable>(
        _ body: @escaping @Sendable (AppServices, ScriptedEmbeddingPeer) async throws -> Value
    ) async throws -> Value {
        try await ScriptedEmbeddingPeer.with { peer in
            try await TestDatabase.withFreshDatabase { database in
                let config = testConfig(database: database) { $0.embeddings = peer.settings }
                return try await AppServices(config: config, logger: TestDatabase.logger).withDatabase { services in
                    _ = try await services.migrate()
                    try await KnowledgeTests.withFolder(Self.documents) { folder in
                        _ = try await KnowledgeImport(services: services).run(folder.path)
                    }
                    while try await services.knowledge.embedPending(batch: 3, model: "e5-passage", { try await services.embeddings.embed($0, for: .passage) }) > 0 {}
                    return try await body(services, peer)
                }
            }
        }
    }

    @Test func theFusionFindsWhatFullTextAloneAndVectorsAloneEachMiss() async throws {
        try await Self.withEmbeddedBase { services, peer in
            let question = "switch en panne, voir GLPI-0412"
            let lexical = try await services.knowledge.fullText(question, limit: 2).map(\.title)
            let vector = try await services.embeddings.embed([question], for: .query)[0]
            let semantic = try await services.knowledge.nearest(vector, limit: 2).map(\.title)
            #expect(lexical.contains("Ticket GLPI-0412") && !lexical.contains("Accueil sans réseau"), "\(lexical)")
            #expect(semantic.contains("Accueil sans réseau") && !semantic.contains("Ticket GLPI-0412"), "\(semantic)")

            let search = KnowledgeSearch(repository: services.knowledge, embeddings: services.embeddings, logger: TestDatabase.logger)
            let fused = try await search.search(question, limit: 3, candidates: 2)
            #expect(fused.usedVectors)
            #expect(Set(fused.hits.map(\.title)).isSuperset(of: ["Ticket GLPI-0412", "Accueil sans réseau"]), "\(fused.hits.map(\.title))")
            #expect(!fused.hits.map(\.title).contains("Imprimante bloquée"))
            // Chunks were embedded as passages, the question as a query (E5's two prefixes).
            #expect(peer.requestedModels.first == "e5-passage" && peer.requestedModels.last == "e5-query")
        }
    }

    @Test func withTheEmbeddingServiceDownFullTextStillAnswersAndSaysSo() async throws {
        try await Self.withEmbeddedBase { services, _ in
            var settings = services.config.embeddings
            settings.baseURL = "http://127.0.0.1:1/v1"
            let down = EmbeddingClient(settings: settings, httpClient: services.httpClient)
            let result = try await KnowledgeSearch(repository: services.knowledge, embeddings: down, logger: TestDatabase.logger)
                .search("GLPI-0412 coupure")
            #expect(!result.usedVectors)
            #expect(result.hits.first?.title == "Ticket GLPI-0412")
        }
    }

    @Test func reembeddingClearsEveryVectorAndTheyAreMadeAgain() async throws {
        try await Self.withEmbeddedBase { services, _ in
            #expect(try await services.knowledge.forgetEmbeddings() == 4)
            #expect(try await KnowledgeTests.embedded(services).isEmpty)
            while try await services.knowledge.embedPending(batch: 10, model: "e5-passage", { try await services.embeddings.embed($0, for: .passage) }) > 0 {}
            #expect(try await KnowledgeTests.embedded(services).count == 4)
            // A vector of the wrong length is refused before it is stored.
            var wrong = services.config.embeddings
            wrong.dimensions = 768
            await #expect(throws: EmbeddingClient.Failure.self) {
                try await EmbeddingClient(settings: wrong, httpClient: services.httpClient).embed(["x"], for: .passage)
            }
        }
    }

    @Test func aRunningServerEmbedsImportedChunksInTheBackgroundAndIndexesThem() async throws {
        try await ScriptedEmbeddingPeer.with { peer in
            try await LiveServer.run(adjust: { $0.embeddings = peer.settings }) { server in
                try await KnowledgeTests.withFolder(Self.documents) { folder in
                    _ = try await KnowledgeImport(services: server.services).run(folder.path)
                }
                let deadline = ContinuousClock.now + .seconds(60)
                while try await KnowledgeTests.embedded(server.services).count < 4, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(200))
                }
                #expect(try await KnowledgeTests.embedded(server.services).count == 4)
                var indexes: [String] = []
                for try await name in try await server.services.postgres.query(
                    "SELECT indexname FROM pg_indexes WHERE tablename = 'widip_knowledge_base' AND indexname LIKE '%embedding%'", logger: TestDatabase.logger
                ).decode(String.self) { indexes.append(name) }
                #expect(indexes == ["widip_knowledge_base_embedding_\(ScriptedEmbeddingPeer.dimensions)_idx"])
            }
        }
    }

    static let enrichisseurToken = "jeton-enrichisseur-0123456789abcdef"
    static let supportToken = "jeton-support-0123456789abcdef-0123"

    @Test func aWorkflowAddsReplacesAndRemovesItsDocumentsEachChangeAuditedAndEmbedded() async throws {
        try await ScriptedEmbeddingPeer.with { peer in
            try await LiveServer.run(adjust: { config in
                config.embeddings = peer.settings
                config.workflowTokens = WorkflowTokens(["ENRICHISSEUR": Self.enrichisseurToken, "SUPPORT": Self.supportToken])
            }) { server in
                let path = "/api/knowledge/documents/glpi-2025-0088"
                let document: [String: Any] = [
                    "title": "Imprimante de l'accueil hors ligne", "type": "ticket", "client": "EHPAD Les Jardins", "ticket_id": "GLPI-2025-0088",
                    "url": "https://glpi.widip.fr/front/ticket.form.php?id=88", "updated_at": "2025-02-03",
                    "content": "L'imprimante de l'accueil était hors ligne : câble réseau débranché par le ménage. Rebranché, file vidée.",
                ]
                // A workflow's route: a technician's session is not enough.
                let (_, token) = try await server.signedIn(.n4)
                #expect(try await server.request(.put, path, json: document, token: token).errorCode == "workflow_only")
                #expect(try await server.request(.put, path, json: document).status == .unauthorized)

                let created = try await server.request(.put, path, json: document, token: Self.enrichisseurToken)
                #expect(created.status == .created, "\(created.text)")
                #expect(created.json["source_key"] as? String == "ENRICHISSEUR/glpi-2025-0088")
                #expect(created.json["added"] as? Int == 1)
                // Found by the assistant's search, with its source, and embedded without waiting for the embedder's next look.
                let hits = try await server.services.knowledge.fullText("imprimante accueil hors ligne", limit: 5)
                #expect(hits.first?.ticketID == "GLPI-2025-0088" && hits.first?.client == "EHPAD Les Jardins")
                try await waitUntil("the document is embedded", timeout: .seconds(60)) {
                    try await KnowledgeTests.embedded(server.services).contains("ENRICHISSEUR/glpi-2025-0088")
                }

                // Sent again (a retried call): nothing changes, nothing more is audited.
                let again = try await server.request(.put, path, json: document, token: Self.enrichisseurToken)
                #expect(again.status == .ok)
                #expect(again.json["unchanged"] as? Int == 1)
                var changed = document
                changed["content"] = "L'imprimante de l'accueil était hors ligne : le switch de l'accueil avait redémarré."
                #expect(try await server.request(.put, path, json: changed, token: Self.enrichisseurToken).json["updated"] as? Int == 1)
                let stored = try await server.services.audit.list(AuditFilter(action: "knowledge.document_stored", limit: 10))
                #expect(stored.count == 2)
                #expect(stored.allSatisfy { $0.targetID == "ENRICHISSEUR/glpi-2025-0088" })

                // Another workflow's document of the same key is its own.
                #expect(try await server.request(.put, path, json: document, token: Self.supportToken).status == .created)

                // Bad input is refused by name, and nothing is written.
                var wrongType = document
                wrongType["type"] = "rumeur"
                #expect(try await server.request(.put, path, json: wrongType, token: Self.enrichisseurToken).errorField == "type")
                var wrongDate = document
                wrongDate["updated_at"] = "hier"
                #expect(try await server.request(.put, path, json: wrongDate, token: Self.enrichisseurToken).errorField == "updated_at")
                var noText = document
                noText["content"] = "  "
                #expect(try await server.request(.put, path, json: noText, token: Self.enrichisseurToken).errorField == "content")
                #expect(try await server.request(.put, "/api/knowledge/documents/un%20ticket", json: document, token: Self.enrichisseurToken).errorField == "key")

                // Removed, audited; removing it again finds nothing.
                #expect(try await server.request(.delete, path, token: Self.enrichisseurToken).status == .noContent)
                #expect(try await server.request(.delete, path, token: Self.enrichisseurToken).errorCode == "document_not_found")
                #expect(try await server.services.audit.list(AuditFilter(action: "knowledge.document_removed", limit: 10)).count == 1)
                let left = try await server.services.knowledge.fullText("imprimante accueil hors ligne", limit: 5).compactMap(\.ticketID)
                #expect(left == ["GLPI-2025-0088"], "only SUPPORT's copy is left")
            }
        }
    }
}
