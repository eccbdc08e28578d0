import Foundation

/// One turn of the prompt sent to a model.
struct LLMMessage: Sendable, Equatable {
    enum Role: String, Sendable {
        case system, user, assistant, tool
    }

    var role: Role
    var content: String
    /// The calls an assistant turn made (the assistant's tool loop sends them back with their results).
    var toolCalls: [LLMToolCall] = []
    /// For a `tool` turn: the call it answers.
    var toolCallID: String? = nil
    var toolName: String? = nil
}

/// A tool call as the model asked for it; `arguments` is JSON text, as the model wrote it.
struct LLMToolCall: Sendable, Equatable {
    var id: String
    var name: String
    var arguments: String
}

/// What is asked of a provider: one streamed answer.
struct LLMRequest: Sendable {
    var model: String
    var messages: [LLMMessage]
    /// The answer's cap, also what is reserved against the user's quota.
    var maxTokens: Int
    /// OpenAI-style function descriptions (`{"type":"function","function":{…}}`), for the assistant's tool loop.
    var tools: [JSONValue] = []

    /// The turns as OpenAI's chat completions spell them: a call's arguments as text, a result tied to its call.
    var openAIMessages: JSONValue {
        .array(messages.map { message in
            var turn: [String: JSONValue] = ["role": .string(message.role.rawValue), "content": .string(message.content)]
            if !message.toolCalls.isEmpty {
                turn["tool_calls"] = .array(message.toolCalls.map { call in
                    ["id": .string(call.id), "type": "function", "function": ["name": .string(call.name), "arguments": .string(call.arguments)]]
                })
            }
            if let id = message.toolCallID { turn["tool_call_id"] = .string(id) }
            if let name = message.toolName { turn["name"] = .string(name) }
            return .object(turn)
        })
    }

    /// The turns as Ollama spells them: a call's arguments as an object, a result named by its tool.
    var ollamaMessages: JSONValue {
        .array(messages.map { message in
            var turn: [String: JSONValue] = ["role": .string(message.role.rawValue), "content": .string(message.content)]
            if !message.toolCalls.isEmpty {
                turn["tool_calls"] = .array(message.toolCalls.map { call in
                    ["function": ["name": .string(call.name), "arguments": JSONValue.parse(call.arguments) ?? .object([:])]]
                })
            }
            if let name = message.toolName { turn["tool_name"] = .string(name) }
            return .object(turn)
        })
    }
}

/// A piece of a streamed answer, in the order the provider sent it.
enum LLMChunk: Sendable, Equatable {
    case text(String)
    /// A part of a tool call: the first part of a call carries its id and name, later ones more of its arguments.
    case toolCall(index: Int, id: String?, name: String?, argumentsDelta: String)
    /// Token counts as the provider reports them (usually once, at the end).
    case usage(prompt: Int, completion: Int)
    /// The provider ended the answer (`stop`, `length`, `tool_calls`).
    case finished(reason: String)
}

/// Why an answer could not be had. Messages are French and name the provider: they reach the user as they are.
struct LLMFailure: Error, Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        /// Nothing was answered: refused connection, unknown host.
        case unreachable
        /// The provider answered with an error status (rate limit, unknown model, bad key).
        case refused(status: Int)
        /// A chunk that is not what the wire format says.
        case malformed
        /// The stream ended before the provider said the answer was finished.
        case interrupted
        /// Nothing arrived for too long.
        case stalled
    }

    let kind: Kind
    let message: String
}

/// A chat model server. `stream` hands each chunk to `receive` as it arrives and returns when the provider has
/// finished; cancelling the calling task closes the upstream request (stop, timeout, shutdown).
protocol LLMProvider: Sendable {
    /// As in configuration: `ollama`, `mistral`, `openai`.
    var name: String { get }
    func stream(_ request: LLMRequest, receive: @escaping @Sendable (LLMChunk) async throws -> Void) async throws
    /// Whether the server answers, for the health page (no generation).
    func probe() async -> Bool
}
