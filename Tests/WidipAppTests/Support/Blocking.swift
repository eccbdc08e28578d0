import Dispatch

/// Runs blocking work (waiting for a child process, a socket read) on a Dispatch thread instead of the cooperative
/// pool: the pool has as many threads as cores, and the in-process server under test needs them to answer.
func offThePool<Value: Sendable>(_ body: @escaping @Sendable () throws -> Value) async throws -> Value {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            continuation.resume(with: Result { try body() })
        }
    }
}
