import Foundation
import Logging

/// The Assistant WIDIP mode (PRD 3.1.2): the knowledge base's passages for the question, then rounds where the model
/// may call the MCP tools before it answers. Tools up to the user's level run through `MCPToolService` (levels,
/// audit and counts live there); an L3+ action is never run here: it becomes a SAFEGUARD request, and its outcome
/// comes back into the conversation (migration 0008).
struct AssistantWIDIP: Sendable {
    let mcp: MCPToolService
    let knowledge: KnowledgeSearch
    let safeguard: SafeguardService
    /// The open alerts and tickets (SUPERVISION), for a conversation's client or all.
    let situation: @Sendable (_ client: String?) async -> String?
    let settings: AssistantSettings
    let logger: Logger

    /// One answer to write.
    struct Job: Sendable {
        let user: User
        let conversationID: UUID
        let messageID: UUID
        /// The client the conversation is kept to.
        let clientScope: String?
        /// The conversation so far, the question last, as `ChatService.prompt` made it (system prompt first).
        let messages: [LLMMessage]
        let model: String
        let maxTokens: Int
        let client: ClientInfo
    }

    /// What the model's rounds cost, added up.
    typealias UsageSink = @Sendable (_ prompt: Int, _ completion: Int) -> Void

    func answer(_ job: Job, provider: any LLMProvider, into answer: LiveAnswer, usage: @escaping UsageSink) async throws {
        let question = job.messages.last(where: { $0.role == .user })?.content ?? ""
        async let retrieved = retrieve(question, scope: job.clientScope)
        async let current = job.user.level >= SupervisionSituation.minimumLevel ? situation(job.clientScope) : nil
        let sources = await retrieved
        if let sources { answer.setSources(sources.sources) }
        let tools = await offeredTools(for: job.user)
        var messages = Self.withContext(job.messages, situation: await current, passages: sources?.passages ?? "", scope: job.clientScope)
        var done: [String: String] = [:]
        var round = 0
        while true {
            round += 1
            // After the last round of tools the model must answer with what it has, and is told so when it used
            // tools. The tools stay in that request: the server then finds the whole prompt so far in its cache
            // (offline, 3 s instead of 16). Calls written anyway are not run; if they were all the model wrote, it
            // is asked once more with no tools at all (a small model given tools after a result tends to call again).
            let answering = round > settings.maxToolRounds
            if answering && !done.isEmpty { messages.append(LLMMessage(role: .user, content: Self.answerNow)) }
            var reply = try await ask(
                LLMRequest(model: job.model, messages: messages, maxTokens: job.maxTokens, tools: tools.map(\.function)),
                provider: provider, toolNames: Set(tools.map(\.name)), into: answer, usage: usage
            )
            if answering && !reply.calls.isEmpty && Self.isBlank(answer.text) {
                reply = try await ask(
                    LLMRequest(model: job.model, messages: messages, maxTokens: job.maxTokens, tools: []),
                    provider: provider, toolNames: Set(tools.map(\.name)), into: answer, usage: usage
                )
            }
            if answering || reply.calls.isEmpty {
                // A call in the last round is never run nor shown: if the model wrote nothing else, the page says
                // where the facts are.
                if Self.isBlank(answer.text) { answer.append(Self.noWrittenAnswer) }
                return
            }
            messages.append(LLMMessage(role: .assistant, content: reply.text, toolCalls: reply.calls))
            var repeated = false
            for call in reply.calls {
                let key = call.name + " " + (JSONValue.parse(call.arguments)?.jsonText ?? call.arguments)
                let result: String
                if let earlier = done[key] {
                    // Asked again with the same arguments: the model is told, and the next round answers.
                    result = earlier
                    repeated = true
                } else {
                    result = await run(call, for: job, question: question, tools: tools, into: answer)
                    done[key] = result
                }
                messages.append(LLMMessage(role: .tool, content: result, toolCallID: call.id, toolName: call.name))
            }
            if repeated { round = max(round, settings.maxToolRounds) }
        }
    }

    /// The last round's instruction, after tools were used. Written as the user's turn: every provider accepts one
    /// after a tool result (some refuse a system turn there).
    static let answerNow = "Réponds maintenant à ma question, en français, avec les résultats des outils et les extraits ci-dessus, sans appeler d'outil."
    private static func isBlank(_ text: String) -> Bool { text.allSatisfy(\.isWhitespace) }
    static let noWrittenAnswer = "Le modèle n'a pas rédigé de réponse : les résultats des outils sont dans les étapes ci-dessus."

    // MARK: One round

    private struct Reply {
        var text = ""
        var calls: [LLMToolCall] = []
    }

    /// Streams one reply of the model into the answer: its text as it comes, its tool calls (native, or fenced in the
    /// text) gathered for the loop.
    private func ask(
        _ request: LLMRequest, provider: any LLMProvider, toolNames: Set<String>, into answer: LiveAnswer, usage: @escaping UsageSink
    ) async throws -> Reply {
        final class Collected: @unchecked Sendable {
            // Only the provider's reading task writes, one chunk after the other; read once it has returned.
            var text = ""
            var fenced: FencedToolCalls
            var native: [Int: (id: String?, name: String, arguments: String)] = [:]
            init(toolNames: Set<String>) { fenced = FencedToolCalls(toolNames: toolNames) }
        }
        let collected = Collected(toolNames: toolNames)
        let filtering = !toolNames.isEmpty
        try await provider.stream(request) { chunk in
            switch chunk {
            case .text(let text):
                let shown = filtering ? collected.fenced.feed(text) : text
                collected.text += shown
                if !shown.isEmpty { answer.append(shown) }
            case .toolCall(let index, let id, let name, let delta):
                var call = collected.native[index] ?? (id: nil, name: "", arguments: "")
                if let id { call.id = id }
                if let name { call.name += name }
                call.arguments += delta
                collected.native[index] = call
            case .usage(let prompt, let completion):
                usage(prompt, completion)
            case .finished:
                break
            }
        }
        let rest = collected.fenced.finish()
        if !rest.isEmpty {
            collected.text += rest
            answer.append(rest)
        }
        var reply = Reply(text: collected.text)
        for index in collected.native.keys.sorted() {
            guard let call = collected.native[index], !call.name.isEmpty else { continue }
            reply.calls.append(LLMToolCall(id: call.id ?? "call_\(index)", name: call.name, arguments: call.arguments.isEmpty ? "{}" : call.arguments))
        }
        reply.calls += collected.fenced.calls
        return reply
    }

    // MARK: Tools

    struct OfferedTool: Sendable {
        let name: String
        let label: String
        let level: ToolLevel
        /// As OpenAI's and Ollama's `tools` describe a function.
        let function: JSONValue
    }

    /// The server's catalogued tools this user may use here: those they may run, and from N1 the L3+ actions, which
    /// only become SAFEGUARD requests. Without a reachable MCP server, none: the answer then rests on the knowledge
    /// base alone.
    func offeredTools(for user: User) async -> [OfferedTool] {
        let described: [ToolDescription]
        do {
            described = try await mcp.tools()
        } catch {
            logger.warning("Assistant without MCP tools", metadata: ["error": "\(error)"])
            return []
        }
        let caller = ToolCaller(user)
        return described.filter { tool in
            tool.offered && tool.catalogued && (tool.level <= caller.maxLevelWithoutApproval || (tool.level.needsApproval && user.level >= .n1))
        }.map { tool in
            var description = tool.description
            if tool.level.needsApproval { description += " Action \(tool.level.label) : soumise à l'approbation d'un collègue dans SAFEGUARD." }
            var parameters = tool.inputSchema ?? ["type": "object", "properties": .object([:])]
            // Words the model never needs, each read at every round by a small model.
            if case .object(var schema) = parameters {
                schema.removeValue(forKey: "additionalProperties")
                schema.removeValue(forKey: "$schema")
                parameters = .object(schema)
            }
            return OfferedTool(
                name: tool.name, label: tool.label, level: tool.level,
                function: ["type": "function", "function": ["name": .string(tool.name), "description": .string(description), "parameters": parameters]]
            )
        }
    }

    /// Runs one call the model asked for and returns what the model is told of it; the page sees it as a step.
    private func run(_ call: LLMToolCall, for job: Job, question: String, tools: [OfferedTool], into answer: LiveAnswer) async -> String {
        let level = mcp.catalogue.level(of: call.name)
        let label = tools.first { $0.name == call.name }?.label ?? mcp.catalogue.entry(call.name)?.label ?? call.name
        let parsed = JSONValue.parse(call.arguments)
        var step = ToolStep(
            tool: call.name, label: label, level: level.label, arguments: (parsed ?? .string(call.arguments)).maskingSecrets, status: .running
        )
        let index = answer.setStep(step)
        func end(_ status: ToolStep.Status, shown: String, told: String, duration: Duration? = nil, approval: String? = nil) -> String {
            step.status = status
            step.result = String(shown.prefix(2000))
            step.durationMS = duration.map { Int($0.milliseconds.rounded()) }
            step.approvalID = approval
            answer.setStep(step, at: index)
            return told
        }
        guard tools.contains(where: { $0.name == call.name }) else {
            let refusal = "L'outil « \(call.name) » n'est pas disponible pour cette conversation."
            return end(.refused, shown: refusal, told: "Erreur : \(refusal)")
        }
        guard case .object(let arguments)? = parsed else {
            let refusal = "Arguments illisibles (JSON attendu) : l'appel n'a pas été fait."
            return end(.refused, shown: refusal, told: "Erreur : \(refusal)")
        }
        if level.needsApproval {
            let handed = await requestApproval(call.name, arguments: arguments, level: level, step: index, for: job, question: question)
            return end(handed.status, shown: handed.shown, told: handed.told, approval: handed.approvalID)
        }
        let clock = ContinuousClock()
        let start = clock.now
        do {
            let result = try await mcp.call(
                ToolCallRequest(
                    tool: call.name, arguments: arguments, caller: ToolCaller(job.user), reason: "Assistant WIDIP : « \(question.prefix(300)) »",
                    client: job.client
                )
            )
            let scoped = ClientScope(job.clientScope).filter(result)
            let told = String(scoped.text.prefix(settings.resultCharacters))
            if result.isError { return end(.toolError, shown: scoped.text, told: "Erreur de l'outil : \(told)", duration: result.duration) }
            return end(.success, shown: scoped.text, told: told, duration: result.duration)
        } catch let error as AppError {
            let status: ToolStep.Status = error.kind == .forbidden ? .refused : .failed
            return end(status, shown: error.message, told: "Erreur : \(error.message)", duration: clock.now - start)
        } catch {
            return end(.failed, shown: "L'appel a échoué.", told: "Erreur : l'appel a échoué.", duration: clock.now - start)
        }
    }

    /// An L3+ action: a SAFEGUARD request for the conversation, never an execution. Its id in the answer's steps lets
    /// the page link to it; its outcome is added to the conversation when it is decided. The step's place in the
    /// answer makes the idempotency key: a retried save cannot ask twice.
    private func requestApproval(
        _ tool: String, arguments: [String: JSONValue], level: ToolLevel, step: Int, for job: Job, question: String
    ) async -> (status: ToolStep.Status, shown: String, told: String, approvalID: String?) {
        var context: [String: JSONValue] = [
            "workflow": "Assistant WIDIP (WIBOT)", "ticket_title": "Action demandée à l'Assistant WIDIP",
            "ticket_description": .string(String(question.prefix(2000))),
        ]
        if let scope = job.clientScope { context["client_name"] = .string(scope) }
        do {
            let (request, _) = try await safeguard.create(
                NewApprovalRequest(
                    tool: tool, arguments: arguments, context: context, requester: .user(id: job.user.id, username: job.user.username),
                    conversationID: job.conversationID, idempotencyKey: "wibot:\(job.messageID.wire):\(step)"
                ),
                client: job.client
            )
            return (
                .awaitingApproval, "Demande \(request.approvalID) envoyée à SAFEGUARD : en attente d'approbation par un ou une collègue.",
                "Action \(level.label) non exécutée : la demande \(request.approvalID) attend l'approbation d'un collègue dans SAFEGUARD. Dis-le à l'utilisateur ; le résultat s'affichera dans la conversation.",
                request.approvalID
            )
        } catch let error as AppError {
            return (.refused, error.message, "Erreur : \(error.message)", nil)
        } catch {
            return (.failed, "La demande n'a pas pu être enregistrée.", "Erreur : la demande n'a pas pu être enregistrée.", nil)
        }
    }

    // MARK: Knowledge

    private struct Retrieved {
        let sources: AnswerSources
        /// The passages as the model reads them, numbered like the sources.
        let passages: String
    }

    /// The question's best passages (hybrid search), cut to the prompt's budget. Nil when the knowledge base cannot
    /// be read: the answer goes on without it.
    private func retrieve(_ question: String, scope: String?) async -> Retrieved? {
        let found: KnowledgeSearch.Result
        do {
            found = try await knowledge.search(question, client: scope, limit: settings.passages)
        } catch {
            logger.warning("Assistant without the knowledge base", metadata: ["error": "\(String(reflecting: error))"])
            return nil
        }
        var budget = settings.passageCharacters
        var items: [AnswerSource] = []
        var passages: [String] = []
        for hit in found.hits where budget > 0 {
            let excerpt = String(hit.content.prefix(min(budget, settings.passageCharacters / 2)))
            budget -= excerpt.count
            let source = AnswerSource(
                id: hit.id, title: hit.title.isEmpty ? "Sans titre" : hit.title, kind: hit.type ?? "document", client: hit.client,
                updatedAt: hit.sourceUpdatedAt, link: hit.url, ticketID: hit.ticketID
            )
            items.append(source)
            var heading = "[\(items.count)] \(source.title) (\(source.kindLabel)"
            if let client = source.client { heading += ", \(client)" }
            if let date = source.updatedAt { heading += ", \(date.formatted(.iso8601.year().month().day()))" }
            if let ticket = source.ticketID { heading += ", \(ticket)" }
            passages.append(heading + ")\n" + excerpt)
        }
        return Retrieved(sources: AnswerSources(items: items, usedVectors: found.usedVectors), passages: passages.joined(separator: "\n\n"))
    }

    /// What is going on now and the passages, then the question: the system prompt and the tools stay the same from
    /// one question to the next, so a server that caches prompt prefixes (llama-server) reads them once; and the
    /// question comes last, where a small model looks first.
    static func withContext(_ messages: [LLMMessage], situation: String? = nil, passages: String, scope: String?) -> [LLMMessage] {
        var messages = messages
        if let scope, let first = messages.indices.first, messages[first].role == .system {
            messages[first].content += "\nCette conversation ne concerne que le client « \(scope) » : n'utilise aucune donnée d'un autre client."
        }
        var context: [String] = []
        if let situation { context.append(situation) }
        if !passages.isEmpty {
            context.append(
                "Extraits de la base de connaissances WIDIP (cite [n] quand tu t'en sers ; ignore ceux qui ne concernent pas la question) :\n\n" + passages
            )
        }
        guard !context.isEmpty, let last = messages.lastIndex(where: { $0.role == .user }) else { return messages }
        messages[last].content = context.joined(separator: "\n\n") + questionMarker + messages[last].content
        return messages
    }

    /// Where the question starts in a user turn that carries passages.
    static let questionMarker = "\n\n---\nQuestion : "
}

/// How much the assistant may do and read for one answer.
public struct AssistantSettings: Sendable {
    /// Rounds where the model may call tools; one more round, without tools, follows for the answer.
    public var maxToolRounds: Int
    /// Passages retrieved, and the characters of them the prompt may hold.
    public var passages: Int
    public var passageCharacters: Int
    /// Characters of a tool's result the model reads.
    public var resultCharacters: Int

    public init(maxToolRounds: Int = 4, passages: Int = 5, passageCharacters: Int = 2400, resultCharacters: Int = 1500) {
        self.maxToolRounds = maxToolRounds
        self.passages = passages
        self.passageCharacters = passageCharacters
        self.resultCharacters = resultCharacters
    }
}
