import Foundation
import Logging
import PostgresNIO
import Synchronization

/// WIBOT's rules: who may send what, the quota, and the answers, which belong to the server rather than to the
/// request that asked for them (a page that goes away leaves the answer to be written and saved).
struct ChatService: Sendable {
    let client: PostgresClient
    let repository: ChatRepository
    let llm: LLMProviders
    let generations: ChatGenerations
    let watchers: ChatWatchers
    let limiter: RateLimiter
    let audit: AuditRepository
    /// The Assistant WIDIP mode's tool loop and knowledge base; without it, that mode answers like the others.
    let assistant: AssistantWIDIP?
    let logger: Logger

    var settings: ChatSettings { llm.settings }

    /// An instance that stops renewing this is taken for gone (migration 0006).
    static let lease = Duration.seconds(20)
    /// How often the text written so far is saved: what a reload or another instance sees lags by at most this.
    static let saveInterval = Duration.milliseconds(400)
    static let heartbeat = Duration.seconds(15)
    static let maximumCharacters = 32_000

    /// An answer under way, and the events of it from its first character.
    struct Started: Sendable {
        let conversationID: UUID
        let userMessageID: UUID?
        let messageID: UUID
        let mode: ChatMode
        let provider: String
        let model: String
        let events: AnswerSubscription
    }

    // MARK: Sending

    func send(_ content: String, mode: ChatMode, to conversationID: UUID?, by user: User, client info: ClientInfo) async throws -> Started {
        let content = try Self.valid(content)
        try await countMessage(of: user)
        return try await start(mode: mode, for: user, client: info) { [repository] connection in
            guard let conversationID else {
                let created = try await repository.createConversation(of: user.id, title: Self.title(from: content), mode: mode, on: connection)
                return Turn(conversation: created, question: .new(content), isNewConversation: true)
            }
            guard try await repository.touchConversation(conversationID, of: user.id, mode: mode, on: connection) else { throw Self.notFound }
            return Turn(conversation: conversationID, question: .new(content), isNewConversation: false)
        }
    }

    /// Answers the last question again: the last answer is replaced (its tokens stay counted).
    func regenerate(_ conversationID: UUID, mode: ChatMode?, by user: User, client info: ClientInfo) async throws -> Started {
        try await again(
            conversationID, mode: mode, by: user, client: info,
            nothing: AppError(.conflict, code: "nothing_to_regenerate", "Cette conversation n'a pas encore de question à laquelle répondre.")
        ) { _, _ in }
    }

    /// Corrects the last question and answers it again; the answers after it are replaced.
    func editLastQuestion(_ conversationID: UUID, content: String, mode: ChatMode?, by user: User, client info: ClientInfo) async throws -> Started {
        let content = try Self.valid(content)
        return try await again(
            conversationID, mode: mode, by: user, client: info, nothing: AppError(.conflict, code: "nothing_to_edit", "Cette conversation n'a pas encore de question à modifier.")
        ) {
            question, connection in try await repository.updateContent(question, content: content, on: connection)
        }
    }

    /// Answers the conversation's last question again, in the conversation's mode unless another is given: what came
    /// after the question is deleted, and `change` may first alter the question.
    private func again(
        _ conversationID: UUID, mode: ChatMode?, by user: User, client info: ClientInfo, nothing: AppError,
        change: @escaping @Sendable (_ question: UUID, PostgresConnection) async throws -> Void
    ) async throws -> Started {
        try await countMessage(of: user)
        let conversation = try await ownConversation(conversationID, of: user)
        let mode = mode ?? ChatMode(rawValue: conversation.mode) ?? .flash
        return try await start(mode: mode, for: user, client: info) { [repository] connection in
            let messages = try await repository.messages(in: conversationID, on: connection)
            guard let lastQuestion = messages.lastIndex(where: { $0.role == "user" }) else { throw nothing }
            let after = messages[(lastQuestion + 1)...]
            if after.contains(where: \.isStreaming) { throw Self.stillWriting }
            try await repository.deleteMessages(after.map(\.id), on: connection)
            try await change(messages[lastQuestion].id, connection)
            _ = try await repository.touchConversation(conversationID, of: user.id, mode: mode, on: connection)
            return Turn(conversation: conversationID, question: .existing(messages[lastQuestion].id), isNewConversation: false)
        }
    }

    private func countMessage(of user: User) async throws {
        do {
            try await limiter.hit("chat:\(user.id)", limit: settings.messagesPerMinute)
        } catch let error as AppError where error.kind == .tooManyRequests {
            throw AppError(
                .tooManyRequests, code: "chat_rate_limited",
                "Trop de messages : \(settings.messagesPerMinute) par minute au plus. Réessayez dans \(error.retryAfter ?? 60) s.", retryAfter: error.retryAfter
            )
        }
    }

    /// The question an answer is for, as `prepare` leaves it: the conversation is already there and touched.
    struct Turn: Sendable {
        enum Question: Sendable {
            /// Saved with the answer's row, in the same statement.
            case new(String)
            case existing(UUID)
        }

        let conversation: UUID
        let question: Question
        /// Its history is the question alone: nothing to read back.
        let isNewConversation: Bool
    }

    /// Checks and reserves the quota, prepares the conversation (`prepare`), writes the question and an empty answer
    /// in one transaction, then starts the answer. Every round trip here is time before the first token, hence the
    /// rows written together (`insertTurn`) and no history read for a new conversation.
    private func start(
        mode: ChatMode, for user: User, client info: ClientInfo, _ prepare: @escaping @Sendable (PostgresConnection) async throws -> Turn
    ) async throws -> Started {
        guard let (entry, model) = llm.route(mode) else { throw Self.notConfigured }
        let cap = settings.maxTokens(mode)
        let repository = repository
        let (turn, question, answerID) = try await client.transaction(logger: logger) { connection in
            let usage = try await repository.lockUsage(of: user.id, on: connection)
            guard usage.used < usage.quota else { throw Self.quotaExceeded(usage) }
            let turn = try await prepare(connection)
            let newQuestion: String? = if case .new(let content) = turn.question { content } else { nil }
            let (question, answer) = try await repository.insertTurn(
                question: newQuestion, in: turn.conversation, mode: mode, provider: entry.settings.name, model: model, lease: Self.lease,
                reserving: cap, for: user.id, on: connection
            )
            let questionID: UUID? = if case .existing(let id) = turn.question { id } else { question }
            return (turn, questionID, answer)
        }
        let history: [LLMMessage] =
            if turn.isNewConversation, case .new(let content) = turn.question {
                [LLMMessage(role: .user, content: content)]
            } else {
                try await repository.messages(in: turn.conversation).filter { $0.id != answerID }.compactMap(Self.historyTurn)
            }
        let request = LLMRequest(model: model, messages: prompt(mode: mode, history: history), maxTokens: cap)
        var job: AssistantWIDIP.Job?
        if mode == .assistant, assistant != nil {
            let scope = turn.isNewConversation ? nil : try await repository.conversation(turn.conversation, of: user.id)?.clientScope
            job = AssistantWIDIP.Job(
                user: user, conversationID: turn.conversation, messageID: answerID, clientScope: scope, messages: request.messages, model: model,
                maxTokens: cap, client: info
            )
        }
        let answer = LiveAnswer(id: answerID)
        generations.register(answer)
        let events = answer.subscribe(from: 0)
        let task = Task { [self, job] in
            await generate(answer, request: request, assistantJob: job, entry: entry, mode: mode)
            generations.remove(answerID)
        }
        generations.attach(task, to: answerID)
        return Started(
            conversationID: turn.conversation, userMessageID: question, messageID: answerID, mode: mode, provider: entry.settings.name, model: model,
            events: events
        )
    }

    /// A saved message as the model reads it: an `action` message (the outcome of an action SAFEGUARD decided) is a
    /// note from the platform.
    static func historyTurn(_ message: MessageRecord) -> LLMMessage? {
        if message.role == "action" { return LLMMessage(role: .system, content: "Suite donnée par SAFEGUARD : \(message.content)") }
        guard let role = LLMMessage.Role(rawValue: message.role), role == .user || role == .assistant else { return nil }
        return LLMMessage(role: role, content: message.content)
    }

    /// The mode's instructions, then as much of the conversation as the budget allows, newest kept.
    func prompt(mode: ChatMode, history: [LLMMessage]) -> [LLMMessage] {
        var budget = settings.historyCharacters
        var turns: [LLMMessage] = []
        for message in history.reversed() {
            guard message.role != .tool, !message.content.isEmpty else { continue }
            if !turns.isEmpty && message.content.count > budget { break }
            budget -= message.content.count
            turns.append(message)
        }
        return [LLMMessage(role: .system, content: mode.systemPrompt)] + turns.reversed()
    }

    // MARK: Writing the answer

    private struct TimedOut: Error {}

    /// What the provider said the answer cost, if it said (added up over the assistant's rounds).
    private final class ReportedUsage: Sendable {
        let counts = Mutex<(prompt: Int, completion: Int)?>(nil)

        func add(prompt: Int, completion: Int) {
            counts.withLock { $0 = (($0?.prompt ?? 0) + prompt, ($0?.completion ?? 0) + completion) }
        }
    }

    private func generate(_ answer: LiveAnswer, request: LLMRequest, assistantJob: AssistantWIDIP.Job?, entry: LLMProviders.Entry, mode: ChatMode) async {
        let reported = ReportedUsage()
        let timeout = settings.timeout(mode)
        var status = MessageStatus.complete
        var failure: String?
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await keepSaving(answer) }
                group.addTask {
                    try await entry.gate.run(position: { answer.queued(at: $0) }) {
                        // The mode's limit runs from when the provider takes the request; the wait in line is shown.
                        try await withThrowingTaskGroup(of: Void.self) { inner in
                            inner.addTask {
                                if let assistantJob, let assistant {
                                    try await assistant.answer(assistantJob, provider: entry.provider, into: answer) { reported.add(prompt: $0, completion: $1) }
                                    return
                                }
                                try await entry.provider.stream(request) { chunk in
                                    switch chunk {
                                    case .text(let text): answer.append(text)
                                    case .usage(let prompt, let completion): reported.counts.withLock { $0 = (prompt, completion) }
                                    case .toolCall, .finished: break
                                    }
                                }
                            }
                            inner.addTask {
                                try await Task.sleep(for: timeout)
                                throw TimedOut()
                            }
                            defer { inner.cancelAll() }
                            try await inner.next()
                        }
                    }
                }
                defer { group.cancelAll() }
                try await group.next()
            }
        } catch is TimedOut {
            status = .timedOut
            failure = "Délai de \(timeout.frenchSeconds) du mode \(mode.label) dépassé : la réponse est coupée, le début est conservé."
        } catch let providerFailure as LLMFailure {
            status = .failed
            failure = providerFailure.message
        } catch {
            switch generations.reason(answer.id) {
            case .stopped:
                status = .stopped
            case .shutdown:
                status = .failed
                failure = "Le serveur s'est arrêté pendant la réponse ; le début est conservé."
            case nil:
                logger.error("Chat answer failed", metadata: ["message_id": "\(answer.id)", "error": "\(String(reflecting: error))"])
                status = .failed
                failure = "La réponse a échoué ; réessayez."
            }
        }
        let text = answer.text
        let usage = reported.counts.withLock { $0 }
        let end = AnswerEnd(
            status: status, error: failure,
            promptTokens: usage?.prompt ?? TokenEstimate.tokens(characters: request.messages.reduce(0) { $0 + $1.content.count }),
            completionTokens: usage?.completion ?? TokenEstimate.tokens(characters: text.count), estimated: usage == nil
        )
        // Saved from a task of its own: this one may be cancelled (stop, shutdown), and the end must be written.
        let (steps, sources) = (answer.steps, answer.sources)
        await Task.detached { [self] in await save(end, text: text, steps: steps, sources: sources, of: answer.id) }.value
        answer.finish(end)
    }

    /// Saves the text written so far every `saveInterval`, and renews the lease even when nothing new came (a long
    /// prompt, a wait in line).
    private func keepSaving(_ answer: LiveAnswer) async throws {
        var lastSave = ContinuousClock.now
        while true {
            try await Task.sleep(for: Self.saveInterval)
            answer.heartbeatIfIdle(after: Self.heartbeat)
            let unsaved = answer.unsaved()
            guard unsaved != nil || ContinuousClock.now - lastSave > Self.lease / 4 else { continue }
            let text = unsaved?.text ?? answer.text
            do {
                try await repository.saveProgress(
                    answer.id, content: text, steps: unsaved?.extras?.steps, sources: unsaved?.extras?.sources, lease: Self.lease
                )
                if let unsaved { answer.markSaved(unsaved) }
                lastSave = .now
            } catch {
                if Task.isCancelled { throw CancellationError() }
                logger.warning("Chat progress not saved", metadata: ["message_id": "\(answer.id)", "error": "\(String(reflecting: error))"])
            }
        }
    }

    private func save(_ end: AnswerEnd, text: String, steps: [ToolStep], sources: AnswerSources?, of id: UUID) async {
        for attempt in 1...5 {
            do {
                try await client.transaction(logger: logger) { connection in
                    try await repository.finish(
                        id, content: text, status: end.status, error: end.error, promptTokens: end.promptTokens, completionTokens: end.completionTokens,
                        estimated: end.estimated, steps: steps, sources: sources, on: connection
                    )
                }
                return
            } catch {
                logger.warning("Chat answer not saved yet", metadata: ["message_id": "\(id)", "attempt": "\(attempt)", "error": "\(String(reflecting: error))"])
                try? await Task.sleep(for: .milliseconds(200 * attempt))
            }
        }
    }

    // MARK: Reading and attaching

    func ownConversation(_ id: UUID, of user: User) async throws -> ConversationRecord {
        guard let conversation = try await repository.conversation(id, of: user.id) else { throw Self.notFound }
        return conversation
    }

    func ownMessage(_ id: UUID, of user: User) async throws -> MessageRecord {
        guard let message = try await repository.message(id, of: user.id) else { throw Self.messageNotFound }
        return message
    }

    /// The answer's events from `offset` characters on, wherever it is being written: from memory when this instance
    /// writes it, from its row (woken by notifications) when another one does, or at once when it has ended.
    func attach(to message: MessageRecord, from offset: Int) async throws -> AnswerSubscription {
        if let live = generations.live(message.id) { return live.subscribe(from: offset) }
        let (stream, continuation) = AsyncStream.makeStream(of: AnswerEvent.self)
        let task = Task { [repository, watchers, logger] in
            await watchers.watching(message.id) { signal in
                defer { continuation.finish() }
                var position = offset
                var lastNews = ContinuousClock.now
                var sentSteps: String?
                var sentSources: String?
                while !Task.isCancelled {
                    let progress: ChatRepository.Progress?
                    do {
                        progress = try await repository.progress(of: message.id, from: position)
                    } catch {
                        if !Task.isCancelled {
                            logger.warning("Chat answer not readable", metadata: ["message_id": "\(message.id)", "error": "\(String(reflecting: error))"])
                        }
                        return
                    }
                    guard let progress else { return }
                    if let sources = progress.sources, sources != sentSources,
                        let decoded = try? ChatRepository.decoder.decode(AnswerSources.self, from: Data(sources.utf8))
                    {
                        continuation.yield(.sources(decoded))
                        sentSources = sources
                    }
                    if let steps = progress.steps, steps != sentSteps, let decoded = try? ChatRepository.decoder.decode([ToolStep].self, from: Data(steps.utf8)) {
                        for (index, step) in decoded.enumerated() { continuation.yield(.step(index: index, step)) }
                        sentSteps = steps
                    }
                    if !progress.text.isEmpty {
                        continuation.yield(.delta(text: progress.text, end: progress.length))
                        position = progress.length
                        lastNews = .now
                    }
                    if progress.status != MessageStatus.streaming.rawValue {
                        if let ended = try? await repository.message(message.id) { continuation.yield(.finished(Self.end(of: ended))) }
                        return
                    }
                    if ContinuousClock.now - lastNews >= Self.heartbeat {
                        continuation.yield(.heartbeat)
                        lastNews = .now
                    }
                    // A missed notification costs at most a second.
                    await signal.wait(upTo: .seconds(1))
                }
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return AnswerSubscription(events: stream) { continuation.finish() }
    }

    enum ConversationUpdate: Sendable, Equatable {
        /// A message the platform added (the outcome of an action SAFEGUARD decided).
        case message(id: UUID, seq: Int)
        case heartbeat
    }

    /// The messages the platform adds to the conversation after `seq` (or from now), as they come, on whichever
    /// instance the decision was made: the row is read when `widip_chat` names the conversation, and every few seconds
    /// in case a notification was missed.
    func updates(of conversationID: UUID, after seq: Int?) async throws -> AsyncStream<ConversationUpdate> {
        // From now means from the last message now, not from whenever the reading task starts.
        let start: Int
        if let seq { start = seq } else { start = try await repository.lastSeq(in: conversationID) }
        let (stream, continuation) = AsyncStream.makeStream(of: ConversationUpdate.self)
        let task = Task { [repository, watchers, logger] in
            await watchers.watching(conversationID) { signal in
                defer { continuation.finish() }
                do {
                    var position = start
                    var lastNews = ContinuousClock.now
                    while !Task.isCancelled && !watchers.isClosing {
                        for (id, found) in try await repository.platformMessages(in: conversationID, after: position) {
                            continuation.yield(.message(id: id, seq: found))
                            position = found
                            lastNews = .now
                        }
                        if ContinuousClock.now - lastNews >= Self.heartbeat {
                            continuation.yield(.heartbeat)
                            lastNews = .now
                        }
                        await signal.wait(upTo: .seconds(5))
                    }
                } catch {
                    if !Task.isCancelled {
                        logger.warning("Conversation updates stopped", metadata: ["conversation_id": "\(conversationID)", "error": "\(String(reflecting: error))"])
                    }
                }
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    static func end(of message: MessageRecord) -> AnswerEnd {
        AnswerEnd(
            status: MessageStatus(rawValue: message.status) ?? .complete, error: message.errorMessage, promptTokens: message.promptTokens ?? 0,
            completionTokens: message.completionTokens ?? 0, estimated: message.tokensEstimated
        )
    }

    /// Asks the answer to stop, wherever it is written, and returns it once saved as stopped (or as it ended). The
    /// saved end is announced like every change of an answer being written (migration 0006).
    func stop(_ id: UUID, by user: User) async throws -> MessageRecord {
        let message = try await ownMessage(id, of: user)
        guard message.isStreaming else { return message }
        return try await watchers.watching(id) { signal in
            _ = try await repository.requestStop(id)
            generations.stop(id)
            let deadline = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < deadline {
                if let current = try await repository.message(id), !current.isStreaming { return current }
                await signal.wait(upTo: .seconds(1))
            }
            return try await ownMessage(id, of: user)
        }
    }

    // MARK: Conversations

    func conversations(of user: User, search: String?) async throws -> [ConversationRecord] {
        try await repository.conversations(of: user.id, search: search)
    }

    func createConversation(for user: User, title: String?, mode: ChatMode) async throws -> ConversationRecord {
        let title = try Self.validTitle(title ?? "Nouvelle conversation")
        let id = try await client.transaction(logger: logger) { connection in
            try await repository.createConversation(of: user.id, title: title, mode: mode, on: connection)
        }
        return try await ownConversation(id, of: user)
    }

    func rename(_ id: UUID, to title: String, by user: User) async throws -> ConversationRecord {
        let title = try Self.validTitle(title)
        let renamed = try await client.transaction(logger: logger) { connection in
            try await repository.rename(id, of: user.id, to: title, on: connection)
        }
        guard renamed else { throw Self.notFound }
        return try await ownConversation(id, of: user)
    }

    /// Keeps the conversation to one client (nil or empty: to none): the assistant's retrieval and tool results then
    /// stay within that client's data.
    func keep(_ id: UUID, toClient client: String?, by user: User) async throws -> ConversationRecord {
        let client = client?.trimmingCharacters(in: .whitespacesAndNewlines)
        if let client, client.count > 200 { throw AppError.invalidField("client_scope", "Nom de client trop long : 200 caractères au plus.") }
        guard try await repository.setClientScope(id, of: user.id, to: client?.isEmpty == true ? nil : client) else { throw Self.notFound }
        return try await ownConversation(id, of: user)
    }

    func delete(_ id: UUID, by user: User, client info: ClientInfo) async throws {
        let conversation = try await ownConversation(id, of: user)
        let messages = try await repository.messages(in: id)
        for message in messages where message.isStreaming { _ = try? await stop(message.id, by: user) }
        let deleted = try await client.transaction(logger: logger) { connection in
            let deleted = try await repository.delete(id, of: user.id, on: connection)
            if deleted {
                try await audit.record(
                    AuditEntry(
                        userID: user.id, action: "chat.conversation_deleted", targetType: "conversation", targetID: id.uuidString,
                        details: .object(["title": .string(conversation.title), "messages": .number(Double(messages.count))]), client: info
                    ),
                    on: connection
                )
            }
            return deleted
        }
        guard deleted else { throw Self.notFound }
    }

    func messages(in id: UUID, of user: User) async throws -> (ConversationRecord, [MessageRecord]) {
        let conversation = try await ownConversation(id, of: user)
        return (conversation, try await repository.messages(in: id))
    }

    func setFeedback(_ id: UUID, rating: Int?, comment: String?, by user: User) async throws -> MessageRecord {
        let message = try await ownMessage(id, of: user)
        guard message.role == "assistant" else {
            throw AppError(.unprocessable, code: "invalid_field", "Seules les réponses de WIBOT peuvent être notées.", field: "rating")
        }
        if let comment, comment.count > 2000 { throw AppError.invalidField("comment", "Commentaire trop long (2 000 caractères au plus).") }
        let comment = comment?.trimmingCharacters(in: .whitespacesAndNewlines)
        try await client.transaction(logger: logger) { connection in
            try await repository.setFeedback(id, rating: rating, comment: comment?.isEmpty == true ? nil : comment, on: connection)
        }
        return try await ownMessage(id, of: user)
    }

    func usage(of user: User) async throws -> TokenUsage {
        try await repository.usage(of: user.id)
    }

    // MARK: Rules

    static func valid(_ content: String) throws -> String {
        let trimmed = content.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw AppError.invalidField("content", "Le message est vide.") }
        guard trimmed.count <= maximumCharacters else {
            throw AppError.invalidField("content", "Message trop long (\(trimmed.count) caractères) : \(maximumCharacters) au plus.")
        }
        return trimmed
    }

    static func validTitle(_ title: String) throws -> String {
        let trimmed = title.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw AppError.invalidField("title", "Le titre est vide.") }
        guard trimmed.count <= 255 else { throw AppError.invalidField("title", "Titre trop long : 255 caractères au plus.") }
        return trimmed
    }

    /// The question's first line, cut at a word near 60 characters.
    static func title(from content: String) -> String {
        let firstLine = content.split(whereSeparator: \.isNewline).first.map(String.init) ?? content
        guard firstLine.count > 60 else { return firstLine }
        let cut = firstLine.prefix(60)
        let atWord = cut.lastIndex(of: " ").map { cut[..<$0] } ?? cut
        return atWord + "…"
    }

    static let notFound = AppError(.notFound, code: "conversation_not_found", "Conversation introuvable.")
    static let messageNotFound = AppError(.notFound, code: "message_not_found", "Message introuvable.")
    static let stillWriting = AppError(.conflict, code: "answer_in_progress", "Une réponse est encore en cours d'écriture : arrêtez-la ou attendez sa fin.")
    static let notConfigured = AppError(
        .unavailable, code: "llm_not_configured",
        "Aucun modèle de langage n'est configuré : définissez OLLAMA_BASE_URL, MISTRAL_API_KEY ou OPENAI_BASE_URL."
    )

    static func quotaExceeded(_ usage: TokenUsage) -> AppError {
        let format = Date.FormatStyle(date: .long, time: .omitted, locale: Locale(identifier: "fr_FR"), timeZone: TimeZone(identifier: "Europe/Paris")!)
        return AppError(
            .tooManyRequests, code: "token_quota_exceeded",
            "Quota mensuel de jetons atteint (\(usage.used.formatted(.number.locale(Locale(identifier: "fr_FR")))) sur \(usage.quota.formatted(.number.locale(Locale(identifier: "fr_FR"))))) : il se renouvelle le \(usage.resetsAt.formatted(format)). Un administrateur peut l'augmenter.",
            retryAfter: max(1, Int(usage.resetsAt.timeIntervalSinceNow)),
            details: ["used": String(usage.used), "quota": String(usage.quota), "resets_at": ISO8601DateFormatter().string(from: usage.resetsAt)]
        )
    }
}
