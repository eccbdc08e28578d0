import Foundation

/// One turn of the prompt sent to a model.
struct LLMMessage: Sendable, Equatable {
    enum Role: String, Sendable {
        case system, user, assistant, tool
    }

    var role: Role
    var content: String
}

/// What is asked of a provider: one streamed answer.
struct LLMRequest: Sendable {
    var model: String
    var messages: [LLMMessage]
    /// The answer's cap, also what is reserved against the user's quota.
    var maxTokens: Int
    /// OpenAI-style function descriptions (`{"type":"function","function":{…}}`), for the assistant's tool loop.
    var tools: [JSONValue] = []

    /// The turns as both wire formats spell them.
    var wireMessages: JSONValue {
        .array(messages.map { .object(["role": .string($0.role.rawValue), "content": .string($0.content)]) })
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
