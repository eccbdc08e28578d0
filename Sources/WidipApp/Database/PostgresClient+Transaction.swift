import Logging
import PostgresNIO

extension PostgresClient {
    /// `withTransaction` that rethrows the closure's own error (an `AppError` such as "last super admin") instead of
    /// PostgresNIO's wrapper, so rule violations inside a transaction reach the client as themselves.
    func transaction<Result: Sendable>(
        logger: Logger, isolation: isolated (any Actor)? = #isolation, _ body: (PostgresConnection) async throws -> sending Result
    ) async throws -> sending Result {
        do {
            return try await withTransaction(logger: logger, isolation: isolation, body)
        } catch let error as PostgresTransactionError {
            if let closureError = error.closureError { throw closureError }
            throw error
        }
    }
}

extension PostgresConnection {
    /// The same on a connection of one's own (outside the pool).
    func transaction<Result: Sendable>(
        logger: Logger, isolation: isolated (any Actor)? = #isolation, _ body: (PostgresConnection) async throws -> sending Result
    ) async throws -> sending Result {
        do {
            return try await withTransaction(logger: logger, isolation: isolation, body)
        } catch let error as PostgresTransactionError {
            if let closureError = error.closureError { throw closureError }
            throw error
        }
    }
}
