import Foundation
import Logging
import PostgresNIO

/// A chunk found for a question, with what the answer shows of its source.
public struct KnowledgeHit: Sendable, Equatable {
    public let id: Int
    public let title: String
    public let type: String?
    public let client: String?
    public let url: String?
    public let ticketID: String?
    public let sourceUpdatedAt: Date?
    public let content: String
}

/// `widip_knowledge_base`: chunks written by import (and by Phase 1's ENRICHISSEUR), searched by the assistant.
public struct KnowledgeRepository: Sendable {
    let client: PostgresClient
    let logger: Logger

    /// What an import changed for one document.
    struct Changes: Sendable, Equatable {
        var added = 0
        var updated = 0
        var unchanged = 0
        var removed = 0
        /// Rows written, text or details: zero when the document was stored exactly as it was.
        var written = 0

        var changedAnything: Bool { written > 0 || removed > 0 }
    }

    /// Writes the document's chunks: a chunk whose text is unchanged keeps its row and its embedding, a changed one
    /// loses its embedding (it is embedded again), chunks beyond the new count are removed. Give it a transaction of
    /// its own per document, so a search never sees half of one.
    func store(_ document: KnowledgeDocument, chunks: [String], on connection: PostgresConnection) async throws -> Changes {
        var changes = Changes()
        var existing: [Int: String] = [:]
        for try await (index, hash) in try await connection.query(
            "SELECT chunk_index, COALESCE(content_hash, '') FROM widip_knowledge_base WHERE source_key = \(document.key) FOR UPDATE", logger: logger
        ).decode((Int, String).self) {
            existing[index] = hash
        }
        for (index, chunk) in chunks.enumerated() {
            let hash = KnowledgeDocument.hash(chunk)
            switch existing[index] {
            case nil: changes.added += 1
            case hash: changes.unchanged += 1
            default: changes.updated += 1
            }
            // The source's details are refreshed even when the text is the same (a new date, a corrected link).
            let written = try await connection.query(
                """
                INSERT INTO widip_knowledge_base AS kb
                    (source_key, chunk_index, content, content_hash, title, source_type, client, source_url, ticket_id, source_updated_at)
                VALUES (\(document.key), \(index), \(chunk), \(hash), \(document.title), \(document.type.rawValue), \(document.client),
                        \(document.url), \(document.ticketID), \(document.updatedAt))
                ON CONFLICT (source_key, chunk_index) DO UPDATE SET
                    content = EXCLUDED.content, content_hash = EXCLUDED.content_hash, title = EXCLUDED.title,
                    source_type = EXCLUDED.source_type, client = EXCLUDED.client, source_url = EXCLUDED.source_url,
                    ticket_id = EXCLUDED.ticket_id, source_updated_at = EXCLUDED.source_updated_at, updated_at = NOW(),
                    embedding = CASE WHEN kb.content_hash = EXCLUDED.content_hash THEN kb.embedding END,
                    embedding_model = CASE WHEN kb.content_hash = EXCLUDED.content_hash THEN kb.embedding_model END
                WHERE (kb.content_hash, kb.title, kb.source_type, kb.client, kb.source_url, kb.ticket_id, kb.source_updated_at)
                    IS DISTINCT FROM (EXCLUDED.content_hash, EXCLUDED.title, EXCLUDED.source_type, EXCLUDED.client,
                                      EXCLUDED.source_url, EXCLUDED.ticket_id, EXCLUDED.source_updated_at)
                RETURNING 1
                """,
                logger: logger
            )
            for try await _ in written { changes.written += 1 }
        }
        changes.removed = existing.keys.filter { $0 >= chunks.count }.count
        if changes.removed > 0 {
            try await connection.query(
                "DELETE FROM widip_knowledge_base WHERE source_key = \(document.key) AND chunk_index >= \(chunks.count)", logger: logger
            )
        }
        return changes
    }

    /// Removes every chunk of the document named `key`; returns how many there were.
    func remove(key: String, on connection: PostgresConnection) async throws -> Int {
        var count = 0
        for try await n in try await connection.query(
            "WITH gone AS (DELETE FROM widip_knowledge_base WHERE source_key = \(key) RETURNING 1) SELECT count(*)::int FROM gone", logger: logger
        ).decode(Int.self) { count = n }
        return count
    }

    /// French full-text search: any of the question's words may match (a question is not a conjunction of keywords),
    /// ranked by how well and how densely they do, the title counting more. With OR, the words every question has
    /// would match everything: PostgreSQL's French stop list keeps « les » (as `le`) and question words, so stems of
    /// two letters and those words are left out. `client` keeps to one client's documents and the general ones.
    ///
    /// Ranking costs one evaluation per matching chunk, so on a large base a word found in many chunks would make
    /// every question slow and find nothing particular. Above 20,000 chunks, the words the planner's statistics
    /// (ANALYZE) find in more than 5 % of chunks are left out of the OR; when all the question's words are that
    /// common, all of them are required instead (AND).
    public func fullText(_ question: String, client: String? = nil, limit: Int) async throws -> [KnowledgeHit] {
        try await hits(
            """
            WITH words AS (
                SELECT DISTINCT lexeme
                FROM unnest(to_tsvector('french', \(question)))
                WHERE length(lexeme) > 2
                  AND lexeme <> ALL (ARRAY['quel', 'quell', 'comment', 'pourquoi', 'combien', 'est', 'sont', 'fait', 'fair', 'peut',
                                           'dois', 'doit', 'apres', 'avant', 'avoir', 'être', 'etre'])
            ),
            common AS (
                SELECT e.lexeme
                FROM pg_stats s, unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) AS e(lexeme, frequency)
                WHERE s.schemaname = current_schema() AND s.tablename = 'widip_knowledge_base' AND s.attname = 'search'
                  AND e.frequency > 0.05
                  AND (SELECT reltuples FROM pg_class WHERE oid = 'widip_knowledge_base'::regclass) > 20000
            ),
            q AS (
                SELECT COALESCE(
                    NULLIF(string_agg(quote_literal(lexeme), ' | ') FILTER (WHERE lexeme NOT IN (SELECT lexeme FROM common)), ''),
                    NULLIF(string_agg(quote_literal(lexeme), ' & '), '')
                )::tsquery AS query
                FROM words
            )
            SELECT kb.id, COALESCE(kb.title, ''), kb.source_type, kb.client, kb.source_url, kb.ticket_id,
                   EXTRACT(EPOCH FROM kb.source_updated_at)::float8, kb.content
            FROM widip_knowledge_base kb, q
            WHERE q.query IS NOT NULL AND kb.search @@ q.query AND (\(client)::text IS NULL OR kb.client IS NULL OR kb.client = \(client)::text)
            ORDER BY ts_rank_cd(kb.search, q.query) DESC, kb.id
            LIMIT \(limit)
            """
        )
    }

    /// The chunks nearest to `vector` (cosine), among those embedded with this dimension: the HNSW index made by
    /// `ensureVectorIndex` covers exactly that cast and that condition. The index serves an ORDER BY on the distance
    /// alone (with a second key PostgreSQL scans every vector: 400 ms instead of 3 at 100,000 chunks), so ties are
    /// put in order by id outside, among the rows it returned.
    public func nearest(_ vector: [Float], client: String? = nil, limit: Int) async throws -> [KnowledgeHit] {
        let dimensions = vector.count
        return try await hits(
            """
            SELECT id, title, source_type, client, source_url, ticket_id, updated, content
            FROM (
                SELECT kb.id, COALESCE(kb.title, '') AS title, kb.source_type, kb.client, kb.source_url, kb.ticket_id,
                       EXTRACT(EPOCH FROM kb.source_updated_at)::float8 AS updated, kb.content,
                       kb.embedding::vector(\(unescaped: String(dimensions))) <=> \(vector.pgvector)::vector(\(unescaped: String(dimensions))) AS distance
                FROM widip_knowledge_base kb
                WHERE vector_dims(kb.embedding) = \(dimensions) AND (\(client)::text IS NULL OR kb.client IS NULL OR kb.client = \(client)::text)
                ORDER BY distance
                LIMIT \(limit)
            ) nearest
            ORDER BY distance, id
            """
        )
    }

    /// The HNSW index for the configured dimension. The column has none of its own (Phase 1 may store another), so the
    /// index is over a cast, limited to rows of that dimension. Several instances may start at once: the loser of the
    /// race finds the index made.
    public func ensureVectorIndex(dimensions: Int) async throws {
        let name = "widip_knowledge_base_embedding_\(dimensions)_idx"
        do {
            try await client.query(
                PostgresQuery(
                    unsafeSQL: """
                        CREATE INDEX IF NOT EXISTS \(name) ON widip_knowledge_base
                        USING hnsw ((embedding::vector(\(dimensions))) vector_cosine_ops) WHERE vector_dims(embedding) = \(dimensions)
                        """
                ),
                logger: logger
            )
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "42P07" || error.serverInfo?[.sqlState] == "23505" {
            return
        }
    }

    /// Embeds up to `batch` chunks that have no embedding (new, changed, or written by Phase 1 without one). Rows are
    /// claimed with SKIP LOCKED: several instances share the work without doing any twice. Returns how many were done.
    func embedPending(batch: Int, model: String, _ embed: @Sendable ([String]) async throws -> [[Float]]) async throws -> Int {
        try await client.transaction(logger: logger) { connection in
            var rows: [(Int, String)] = []
            for try await row in try await connection.query(
                "SELECT id, content FROM widip_knowledge_base WHERE embedding IS NULL ORDER BY id LIMIT \(batch) FOR UPDATE SKIP LOCKED", logger: logger
            ).decode((Int, String).self) {
                rows.append(row)
            }
            guard !rows.isEmpty else { return 0 }
            let vectors = try await embed(rows.map(\.1))
            for ((id, _), vector) in zip(rows, vectors) {
                try await connection.query(
                    "UPDATE widip_knowledge_base SET embedding = \(vector.pgvector)::vector, embedding_model = \(model) WHERE id = \(id)", logger: logger
                )
            }
            return rows.count
        }
    }

    /// `widip kb reembed`: every chunk is embedded again (a new model, a new dimension).
    func forgetEmbeddings() async throws -> Int {
        var count = 0
        for try await n in try await client.query(
            "WITH cleared AS (UPDATE widip_knowledge_base SET embedding = NULL, embedding_model = NULL WHERE embedding IS NOT NULL RETURNING 1) SELECT count(*)::int FROM cleared",
            logger: logger
        ).decode(Int.self) { count = n }
        return count
    }

    /// Records that `userID` found chunk `id` out of date; nil when the chunk does not exist. A user's second report
    /// of a chunk not yet reviewed changes nothing (`isNew` false).
    func reportObsolete(
        _ id: Int, by userID: Int, message: UUID?, comment: String?, on connection: PostgresConnection
    ) async throws -> (title: String, isNew: Bool)? {
        let result = try await connection.query(
            """
            WITH source AS (SELECT id, source_key, COALESCE(title, 'Sans titre') AS title FROM widip_knowledge_base WHERE id = \(id)),
                 added AS (
                     INSERT INTO knowledge_feedback (knowledge_id, source_key, title, message_id, user_id, comment)
                     SELECT id, source_key, title, \(message), \(userID), \(comment) FROM source
                     ON CONFLICT (knowledge_id, user_id) WHERE resolved_at IS NULL DO NOTHING
                     RETURNING id
                 )
            SELECT title, EXISTS (SELECT 1 FROM added) FROM source
            """,
            logger: logger
        )
        for try await (title, isNew) in result.decode((String, Bool).self) { return (title, isNew) }
        return nil
    }

    private func hits(_ query: PostgresQuery) async throws -> [KnowledgeHit] {
        var found: [KnowledgeHit] = []
        for try await row in try await client.query(query, logger: logger).decode((Int, String, String?, String?, String?, String?, Double?, String).self) {
            found.append(
                KnowledgeHit(
                    id: row.0, title: row.1, type: row.2, client: row.3, url: row.4, ticketID: row.5,
                    sourceUpdatedAt: row.6.map { Date(timeIntervalSince1970: $0) }, content: row.7
                )
            )
        }
        return found
    }
}
