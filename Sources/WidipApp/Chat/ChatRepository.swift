import Foundation
import Logging
import PostgresNIO

/// SQL of conversations, messages and token usage (migration 0006). Every read of a user's data names the user:
/// another user's conversation is simply not found.
struct ChatRepository: Sendable {
    let client: PostgresClient
    let logger: Logger
    /// Quotas are monthly in this zone (a French user's month starts at midnight in Paris).
    let timeZone: TimeZone

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        return decoder
    }()

    /// For the JSON columns this module writes (steps, sources), read back with `decoder`.
    static func storedJSON(_ value: some Encodable) -> String? {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) }
    }

    private func rows<Row: Decodable>(_ type: Row.Type, _ query: PostgresQuery, on connection: PostgresConnection? = nil) async throws -> [Row] {
        let result = if let connection { try await connection.query(query, logger: logger) } else { try await client.query(query, logger: logger) }
        var found: [Row] = []
        for try await text in result.decode(String.self) {
            found.append(try Self.decoder.decode(Row.self, from: Data(text.utf8)))
        }
        return found
    }

    // MARK: Conversations

    /// The user's conversations, the most recently active first; with `search`, those whose title or one of whose
    /// messages matches it (French full text).
    func conversations(of userID: Int, search: String?, limit: Int = 200) async throws -> [ConversationRecord] {
        if let search {
            return try await rows(
                ConversationRecord.self,
                """
                SELECT to_jsonb(r)::text FROM chat_conversation_rows r
                WHERE r.user_id = \(userID) AND (
                    to_tsvector('french', r.title) @@ websearch_to_tsquery('french', \(search))
                    OR EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = r.id
                               AND to_tsvector('french', m.content) @@ websearch_to_tsquery('french', \(search))))
                ORDER BY r.updated_at DESC LIMIT \(limit)
                """
            )
        }
        return try await rows(
            ConversationRecord.self,
            "SELECT to_jsonb(r)::text FROM chat_conversation_rows r WHERE r.user_id = \(userID) ORDER BY r.updated_at DESC LIMIT \(limit)"
        )
    }

    func conversation(_ id: UUID, of userID: Int, on connection: PostgresConnection? = nil) async throws -> ConversationRecord? {
        try await rows(ConversationRecord.self, "SELECT to_jsonb(r)::text FROM chat_conversation_rows r WHERE r.id = \(id) AND r.user_id = \(userID)", on: connection)
            .first
    }

    func createConversation(of userID: Int, title: String, mode: ChatMode, on connection: PostgresConnection) async throws -> UUID {
        let result = try await connection.query(
            "INSERT INTO conversations (user_id, title, mode) VALUES (\(userID), \(title), \(mode.rawValue)) RETURNING id", logger: logger
        )
        for try await id in result.decode(UUID.self) { return id }
        throw AppError.internalFailure
    }

    func rename(_ id: UUID, of userID: Int, to title: String, on connection: PostgresConnection) async throws -> Bool {
        let result = try await connection.query(
            "UPDATE conversations SET title = \(title), updated_at = NOW() WHERE id = \(id) AND user_id = \(userID) RETURNING id", logger: logger
        )
        for try await _ in result.decode(UUID.self) { return true }
        return false
    }

    func setClientScope(_ id: UUID, of userID: Int, to scope: String?) async throws -> Bool {
        let result = try await client.query(
            "UPDATE conversations SET client_scope = \(scope) WHERE id = \(id) AND user_id = \(userID) RETURNING id", logger: logger
        )
        for try await _ in result.decode(UUID.self) { return true }
        return false
    }

    /// Deletes the conversation and its messages. Its token usage stays: deleting must not give tokens back.
    func delete(_ id: UUID, of userID: Int, on connection: PostgresConnection) async throws -> Bool {
        let result = try await connection.query("DELETE FROM conversations WHERE id = \(id) AND user_id = \(userID) RETURNING id", logger: logger)
        for try await _ in result.decode(UUID.self) { return true }
        return false
    }

    // MARK: Messages

    func messages(in conversationID: UUID, on connection: PostgresConnection? = nil) async throws -> [MessageRecord] {
        try await rows(
            MessageRecord.self, "SELECT to_jsonb(r)::text FROM chat_message_rows r WHERE r.conversation_id = \(conversationID) ORDER BY r.created_at, r.seq",
            on: connection
        )
    }

    func message(_ id: UUID, of userID: Int? = nil) async throws -> MessageRecord? {
        if let userID {
            return try await rows(MessageRecord.self, "SELECT to_jsonb(r)::text FROM chat_message_rows r WHERE r.id = \(id) AND r.user_id = \(userID)").first
        }
        return try await rows(MessageRecord.self, "SELECT to_jsonb(r)::text FROM chat_message_rows r WHERE r.id = \(id)").first
    }

    /// What an attached page on another instance reads on each notification: the text written so far from `offset`
    /// (in characters) on, the status, and the assistant's steps and sources as JSON text (compared to what was sent).
    struct Progress: Sendable {
        let text: String
        let length: Int
        let status: String
        let steps: String?
        let sources: String?
    }

    func progress(of id: UUID, from offset: Int) async throws -> Progress? {
        let result = try await client.query(
            """
            SELECT substr(content, \(offset + 1)::int), char_length(content), status, mcp_tools_used::text, sources::text FROM messages WHERE id = \(id)
            """,
            logger: logger
        )
        for try await row in result.decode((String, Int, String, String?, String?).self) {
            return Progress(text: row.0, length: row.1, status: row.2, steps: row.3, sources: row.4)
        }
        return nil
    }

    /// Messages the platform added to the conversation after `seq` (SAFEGUARD outcomes, migration 0008), in order.
    func platformMessages(in conversationID: UUID, after seq: Int) async throws -> [(id: UUID, seq: Int)] {
        let result = try await client.query(
            "SELECT id, seq FROM messages WHERE conversation_id = \(conversationID) AND role = 'action' AND seq > \(seq) ORDER BY seq", logger: logger
        )
        var found: [(UUID, Int)] = []
        for try await row in result.decode((UUID, Int).self) { found.append(row) }
        return found
    }

    func lastSeq(in conversationID: UUID) async throws -> Int {
        let result = try await client.query("SELECT COALESCE(MAX(seq), 0) FROM messages WHERE conversation_id = \(conversationID)", logger: logger)
        for try await seq in result.decode(Int.self) { return seq }
        return 0
    }

    /// An answer's row, its question's row when the question is new, and the answer's quota reservation, in one
    /// statement (one round trip before the first token). The branches of a UNION ALL are read in order (writes are
    /// never parallel), so the question's `seq` comes before its answer's.
    func insertTurn(
        question text: String?, in conversationID: UUID, mode: ChatMode, provider: String, model: String, lease: Duration, reserving tokens: Int,
        for userID: Int, on connection: PostgresConnection
    ) async throws -> (question: UUID?, answer: UUID) {
        let lease = Double(lease.components.seconds)
        let result = try await connection.query(
            """
            WITH inserted AS (
                INSERT INTO messages (conversation_id, role, content, mode, status, provider, model, lease_until)
                SELECT \(conversationID), 'user', \(text)::text, \(mode.rawValue), 'complete', NULL, NULL, NULL WHERE \(text)::text IS NOT NULL
                UNION ALL
                SELECT \(conversationID), 'assistant', '', \(mode.rawValue), 'streaming', \(provider), \(model), NOW() + make_interval(secs => \(lease)::float8)
                RETURNING id, role
            ), reserved AS (
                INSERT INTO chat_token_usage (user_id, message_id, mode, provider, model, reserved_tokens)
                SELECT \(userID), id, \(mode.rawValue), \(provider), \(model), \(tokens) FROM inserted WHERE role = 'assistant'
            )
            SELECT id, role FROM inserted
            """,
            logger: logger
        )
        var question: UUID?
        var answer: UUID?
        for try await (id, role) in result.decode((UUID, String).self) {
            if role == "assistant" { answer = id } else { question = id }
        }
        guard let answer, (question == nil) == (text == nil) else { throw AppError.internalFailure }
        return (question, answer)
    }

    /// Marks the conversation as just used, in `mode`; false when it is not the user's.
    func touchConversation(_ id: UUID, of userID: Int, mode: ChatMode, on connection: PostgresConnection) async throws -> Bool {
        let result = try await connection.query(
            "UPDATE conversations SET updated_at = NOW(), mode = \(mode.rawValue) WHERE id = \(id) AND user_id = \(userID) RETURNING id", logger: logger
        )
        for try await _ in result.decode(UUID.self) { return true }
        return false
    }

    /// Writes what the answer says so far (with the assistant's steps and sources when they changed) and renews the
    /// lease of the instance writing it. Only a row still being written changes: a stop already recorded elsewhere is
    /// not overwritten.
    func saveProgress(_ id: UUID, content: String, steps: [ToolStep]?, sources: AnswerSources?, lease: Duration) async throws {
        let stepsJSON = steps.flatMap { $0.isEmpty ? nil : Self.storedJSON($0) }
        let sourcesJSON = sources.flatMap { Self.storedJSON($0) }
        try await client.query(
            """
            UPDATE messages SET content = \(content), lease_until = NOW() + make_interval(secs => \(Double(lease.components.seconds))),
                mcp_tools_used = COALESCE(\(stepsJSON)::jsonb, mcp_tools_used), sources = COALESCE(\(sourcesJSON)::jsonb, sources),
                rag_used = COALESCE(rag_used, FALSE) OR \(sourcesJSON)::jsonb IS NOT NULL
            WHERE id = \(id) AND status = 'streaming'
            """,
            logger: logger
        )
    }

    /// The end of an answer: its text, how it ended, its usage, and the settled quota, together.
    func finish(
        _ id: UUID, content: String, status: MessageStatus, error: String?, promptTokens: Int, completionTokens: Int, estimated: Bool,
        steps: [ToolStep] = [], sources: AnswerSources? = nil, on connection: PostgresConnection
    ) async throws {
        let stepsJSON = steps.isEmpty ? nil : Self.storedJSON(steps)
        let sourcesJSON = sources.flatMap { Self.storedJSON($0) }
        try await connection.query(
            """
            UPDATE messages SET content = \(content), status = \(status.rawValue), error_message = \(error),
                mcp_tools_used = COALESCE(\(stepsJSON)::jsonb, mcp_tools_used), sources = COALESCE(\(sourcesJSON)::jsonb, sources),
                rag_used = COALESCE(rag_used, FALSE) OR \(sourcesJSON)::jsonb IS NOT NULL,
                prompt_tokens = \(promptTokens), completion_tokens = \(completionTokens), tokens_used = \(promptTokens + completionTokens),
                tokens_estimated = \(estimated), finished_at = NOW(), lease_until = NULL
            WHERE id = \(id)
            """,
            logger: logger
        )
        try await connection.query(
            """
            UPDATE chat_token_usage SET prompt_tokens = \(promptTokens), completion_tokens = \(completionTokens), estimated = \(estimated), settled = TRUE
            WHERE message_id = \(id)
            """,
            logger: logger
        )
    }

    /// Asks the instance writing the answer to stop (it sees the change through the notification). False when the
    /// answer is not being written any more.
    func requestStop(_ id: UUID) async throws -> Bool {
        let result = try await client.query(
            """
            WITH stopped AS (
                UPDATE messages SET stop_requested_at = NOW() WHERE id = \(id) AND status = 'streaming' AND stop_requested_at IS NULL RETURNING id
            )
            SELECT pg_notify('widip_chat', 'stop:' || id::text) FROM stopped
            """,
            logger: logger
        )
        for try await _ in result { return true }
        return false
    }

    func setFeedback(_ id: UUID, rating: Int?, comment: String?, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            UPDATE messages SET feedback = \(rating), feedback_comment = \(comment), feedback_at = CASE WHEN \(rating)::int IS NULL THEN NULL ELSE NOW() END
            WHERE id = \(id)
            """,
            logger: logger
        )
    }

    func deleteMessages(_ ids: [UUID], on connection: PostgresConnection) async throws {
        guard !ids.isEmpty else { return }
        try await connection.query("DELETE FROM messages WHERE id = ANY(\(ids))", logger: logger)
    }

    func updateContent(_ id: UUID, content: String, on connection: PostgresConnection) async throws {
        try await connection.query("UPDATE messages SET content = \(content) WHERE id = \(id)", logger: logger)
    }

    /// Answers whose instance stopped renewing its lease (it crashed or was killed): they end as failed, keeping
    /// what was written, and their reservation is settled on the text's estimate.
    func failOrphans() async throws -> [UUID] {
        try await client.transaction(logger: logger) { connection in
            let result = try await connection.query(
                """
                UPDATE messages SET status = 'failed', finished_at = NOW(), lease_until = NULL,
                    error_message = 'La réponse a été interrompue : le serveur qui l''écrivait s''est arrêté.'
                WHERE status = 'streaming' AND lease_until < NOW() RETURNING id, char_length(content)
                """,
                logger: logger
            )
            var ids: [UUID] = []
            for try await (id, length) in result.decode((UUID, Int).self) {
                ids.append(id)
                try await connection.query(
                    """
                    UPDATE chat_token_usage SET completion_tokens = \(TokenEstimate.tokens(characters: length)), estimated = TRUE, settled = TRUE
                    WHERE message_id = \(id) AND NOT settled
                    """,
                    logger: logger
                )
            }
            return ids
        }
    }

    // MARK: Quota

    /// Locks the user's row until the transaction ends, so that concurrent messages of one user check and reserve
    /// their quota one after the other, then returns the month's usage (reservations of answers in flight included).
    func lockUsage(of userID: Int, on connection: PostgresConnection) async throws -> TokenUsage {
        try await connection.query("SELECT 1 FROM users WHERE id = \(userID) FOR UPDATE", logger: logger)
        return try await usage(of: userID, on: connection)
    }

    func usage(of userID: Int, on connection: PostgresConnection? = nil) async throws -> TokenUsage {
        let zone = timeZone.identifier
        let query: PostgresQuery = """
            -- The month is added in local time: added to the UTC instant, it would land an hour early after a DST change,
            -- or on the 30th.
            WITH local AS (SELECT date_trunc('month', NOW() AT TIME ZONE \(zone)) AS start),
                 month AS (SELECT start AT TIME ZONE \(zone) AS start, (start + INTERVAL '1 month') AT TIME ZONE \(zone) AS next FROM local)
            SELECT u.token_quota,
                   EXTRACT(EPOCH FROM (SELECT next FROM month))::float8,
                   COALESCE(t.mode, ''),
                   COALESCE(SUM(CASE WHEN t.settled THEN t.prompt_tokens + t.completion_tokens ELSE t.reserved_tokens END), 0)::int
            FROM users u
            LEFT JOIN chat_token_usage t ON t.user_id = u.id AND t.created_at >= (SELECT start FROM month)
            WHERE u.id = \(userID)
            GROUP BY u.token_quota, t.mode
            """
        let result = if let connection { try await connection.query(query, logger: logger) } else { try await client.query(query, logger: logger) }
        var usage = TokenUsage(used: 0, quota: 0, resetsAt: Date(), byMode: [:])
        for try await (quota, reset, mode, tokens) in result.decode((Int, Double, String, Int).self) {
            usage.quota = quota
            usage.resetsAt = Date(timeIntervalSince1970: reset)
            if !mode.isEmpty {
                usage.byMode[mode] = tokens
                usage.used += tokens
            }
        }
        return usage
    }

    /// The month's usage of these users, for the users list's Tokens column.
    func monthlyUsage(of userIDs: [Int]) async throws -> [Int: Int] {
        let zone = timeZone.identifier
        let result = try await client.query(
            """
            SELECT user_id, SUM(CASE WHEN settled THEN prompt_tokens + completion_tokens ELSE reserved_tokens END)::int
            FROM chat_token_usage
            WHERE user_id = ANY(\(userIDs)) AND created_at >= date_trunc('month', NOW() AT TIME ZONE \(zone)) AT TIME ZONE \(zone)
            GROUP BY user_id
            """,
            logger: logger
        )
        var usage: [Int: Int] = [:]
        for try await (user, tokens) in result.decode((Int, Int).self) { usage[user] = tokens }
        return usage
    }
}

/// Tokens guessed from text when a provider reports none: about four characters per token for French and code.
enum TokenEstimate {
    static func tokens(characters: Int) -> Int { max(characters > 0 ? 1 : 0, (characters + 3) / 4) }
}
