import Foundation
import Synchronization

/// What a page attached to an answer receives, in order.
enum AnswerEvent: Sendable, Equatable {
    /// Waiting for the provider: `position` requests are ahead.
    case queued(position: Int)
    /// More text; `end` is the answer's length in characters once it is added (the SSE event id, to resume from).
    case delta(text: String, end: Int)
    /// Nothing new for a while: keeps proxies from closing the stream.
    case heartbeat
    /// The assistant's tool call number `index` started or changed (the same index replaces what was shown).
    case step(index: Int, ToolStep)
    /// The knowledge-base passages the assistant was given.
    case sources(AnswerSources)
    case finished(AnswerEnd)
}

/// A page's view of an answer: its events, and how to leave (a page that went away must not be written to for the
/// rest of the answer).
struct AnswerSubscription: Sendable {
    let events: AsyncStream<AnswerEvent>
    let cancel: @Sendable () -> Void
}

/// How an answer ended, as saved.
struct AnswerEnd: Sendable, Equatable {
    let status: MessageStatus
    let error: String?
    let promptTokens: Int
    let completionTokens: Int
    let estimated: Bool
}

/// An answer being written by this instance: its text so far and the pages attached to it. The generation writes,
/// any number of requests read; a page that goes away only ends its own subscription.
final class LiveAnswer: Sendable {
    let id: UUID

    private struct State {
        var text = ""
        var length = 0
        var end: AnswerEnd?
        var lastSentAt = ContinuousClock.now
        var subscribers: [Int: AsyncStream<AnswerEvent>.Continuation] = [:]
        var nextSubscriber = 0
        var savedLength = 0
        var queuePosition: Int?
        var steps: [ToolStep] = []
        var sources: AnswerSources?
        /// Bumped on each change of steps or sources, to know whether the row has them.
        var extrasVersion = 0
        var savedExtrasVersion = 0
    }

    /// What the row lacks: the text, and the steps and sources when they changed since the last save.
    struct Unsaved: Sendable {
        let text: String
        let length: Int
        let extras: (steps: [ToolStep], sources: AnswerSources?, version: Int)?
    }

    private let state = Mutex(State())

    init(id: UUID) {
        self.id = id
    }

    func append(_ text: String) {
        state.withLock { state in
            state.text += text
            state.length += text.unicodeScalars.count
            state.lastSentAt = .now
            state.queuePosition = nil
            let event = AnswerEvent.delta(text: text, end: state.length)
            for continuation in state.subscribers.values { continuation.yield(event) }
        }
    }

    /// Records a tool call: a new one (`index` nil) is added and its index returned; a known one is replaced.
    @discardableResult
    func setStep(_ step: ToolStep, at index: Int? = nil) -> Int {
        state.withLock { state in
            let index = index ?? state.steps.count
            if index < state.steps.count { state.steps[index] = step } else { state.steps.append(step) }
            state.extrasVersion += 1
            state.lastSentAt = .now
            for continuation in state.subscribers.values { continuation.yield(.step(index: index, step)) }
            return index
        }
    }

    func setSources(_ sources: AnswerSources) {
        state.withLock { state in
            state.sources = sources
            state.extrasVersion += 1
            for continuation in state.subscribers.values { continuation.yield(.sources(sources)) }
        }
    }

    var steps: [ToolStep] { state.withLock { $0.steps } }
    var sources: AnswerSources? { state.withLock { $0.sources } }

    func queued(at position: Int) {
        state.withLock { state in
            state.queuePosition = position
            for continuation in state.subscribers.values { continuation.yield(.queued(position: position)) }
        }
    }

    func heartbeatIfIdle(after quiet: Duration) {
        state.withLock { state in
            guard ContinuousClock.now - state.lastSentAt >= quiet else { return }
            state.lastSentAt = .now
            for continuation in state.subscribers.values { continuation.yield(.heartbeat) }
        }
    }

    func finish(_ end: AnswerEnd) {
        state.withLock { state in
            state.end = end
            for continuation in state.subscribers.values {
                continuation.yield(.finished(end))
                continuation.finish()
            }
            state.subscribers.removeAll()
        }
    }

    /// What the row lacks, or nil when it is up to date.
    func unsaved() -> Unsaved? {
        state.withLock { state in
            let extras = state.savedExtrasVersion == state.extrasVersion ? nil : (state.steps, state.sources, state.extrasVersion)
            guard state.savedLength != state.length || extras != nil else { return nil }
            return Unsaved(text: state.text, length: state.length, extras: extras)
        }
    }

    func markSaved(_ saved: Unsaved) {
        state.withLock { state in
            state.savedLength = max(state.savedLength, saved.length)
            if let extras = saved.extras { state.savedExtrasVersion = max(state.savedExtrasVersion, extras.version) }
        }
    }

    var text: String { state.withLock { $0.text } }

    /// The steps and sources so far, everything after `offset` characters at once, then each new piece as it comes,
    /// then the end.
    func subscribe(from offset: Int) -> AnswerSubscription {
        let (stream, continuation) = AsyncStream.makeStream(of: AnswerEvent.self, bufferingPolicy: .unbounded)
        let key = state.withLock { state -> Int? in
            if let sources = state.sources { continuation.yield(.sources(sources)) }
            for (index, step) in state.steps.enumerated() { continuation.yield(.step(index: index, step)) }
            if offset < state.length {
                continuation.yield(.delta(text: String(state.text.unicodeScalars.dropFirst(max(0, offset))), end: state.length))
            }
            if let end = state.end {
                continuation.yield(.finished(end))
                continuation.finish()
                return nil
            }
            if let position = state.queuePosition { continuation.yield(.queued(position: position)) }
            let key = state.nextSubscriber
            state.nextSubscriber += 1
            state.subscribers[key] = continuation
            return key
        }
        return AnswerSubscription(events: stream) { [weak self] in
            guard let key else { return }
            self?.state.withLock { $0.subscribers.removeValue(forKey: key) }?.finish()
        }
    }
}

/// The answers this instance is writing, so that a stop, an attach or a shutdown finds them.
final class ChatGenerations: Sendable {
    enum EndReason: Sendable {
        case stopped, shutdown
    }

    private struct Running {
        let answer: LiveAnswer
        var task: Task<Void, Never>?
        var reason: EndReason?
    }

    private let running = Mutex<[UUID: Running]>([:])

    func register(_ answer: LiveAnswer) {
        running.withLock { $0[answer.id] = Running(answer: answer) }
    }

    func attach(_ task: Task<Void, Never>, to id: UUID) {
        let cancelNow = running.withLock { running -> Bool in
            running[id]?.task = task
            return running[id]?.reason != nil
        }
        if cancelNow { task.cancel() }
    }

    func remove(_ id: UUID) {
        _ = running.withLock { $0.removeValue(forKey: id) }
    }

    func live(_ id: UUID) -> LiveAnswer? {
        running.withLock { $0[id]?.answer }
    }

    /// Why the generation was cancelled, if it was.
    func reason(_ id: UUID) -> EndReason? {
        running.withLock { $0[id]?.reason }
    }

    /// Cancels the generation if this instance runs it; returns whether it did.
    @discardableResult
    func stop(_ id: UUID, because reason: EndReason = .stopped) -> Bool {
        let task = running.withLock { running -> Task<Void, Never>?? in
            guard running[id] != nil else { return nil }
            if running[id]?.reason == nil { running[id]?.reason = reason }
            return .some(running[id]?.task)
        }
        guard let task else { return false }
        task?.cancel()
        return true
    }

    /// Ends every generation (server shutdown) and waits until each has saved what it wrote.
    func stopAll() async {
        let tasks = running.withLock { running in
            for id in running.keys where running[id]?.reason == nil { running[id]?.reason = .shutdown }
            return running.values.compactMap(\.task)
        }
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
    }
}
