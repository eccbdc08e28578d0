/// At most `limit` generations at once on one provider, the others waiting in arrival order. A server that serves
/// a fixed number of generations (llama.cpp's slots, a GPU) would otherwise queue them itself without telling
/// anyone, or cut them short; here the user sees « 2 demandes avant la vôtre » and the answer, whole, later.
actor ProviderGate {
    let limit: Int
    private var running = 0
    private var waiting: [Waiter] = []
    private var nextTicket = 0

    private struct Waiter {
        let ticket: Int
        let continuation: CheckedContinuation<Void, any Error>
        let position: @Sendable (Int) -> Void
    }

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// Runs `body` once a place is free. `position` is told how many requests are ahead each time that changes
    /// (not at all when a place is free at once). A cancelled waiter leaves the queue.
    func run<Value: Sendable>(
        position: @escaping @Sendable (Int) -> Void, _ body: @Sendable () async throws -> Value
    ) async throws -> Value {
        try await acquire(position: position)
        defer { release() }
        return try await body()
    }

    private func acquire(position: @escaping @Sendable (Int) -> Void) async throws {
        if running < limit && waiting.isEmpty {
            running += 1
            return
        }
        nextTicket += 1
        let ticket = nextTicket
        position(waiting.count + 1)
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                if Task.isCancelled {
                    continuation.resume(throwing: CancellationError())
                    return
                }
                waiting.append(Waiter(ticket: ticket, continuation: continuation, position: position))
            }
        } onCancel: {
            Task { await self.leave(ticket) }
        }
    }

    private func leave(_ ticket: Int) {
        guard let index = waiting.firstIndex(where: { $0.ticket == ticket }) else { return }
        waiting.remove(at: index).continuation.resume(throwing: CancellationError())
        announcePositions(from: index)
    }

    private func release() {
        if waiting.isEmpty {
            running -= 1
        } else {
            // The place passes straight to the first in line: `running` stays the same.
            waiting.removeFirst().continuation.resume()
            announcePositions(from: 0)
        }
    }

    private func announcePositions(from index: Int) {
        for (offset, waiter) in waiting.enumerated() where offset >= index {
            waiter.position(offset + 1)
        }
    }
}
