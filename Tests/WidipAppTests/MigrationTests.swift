import Foundation
import Logging
import PostgresNIO
import Testing
@testable import WidipApp

@Suite("Migrations", .timeLimit(.minutes(2)))
struct MigrationTests {
    func withServices<Value: Sendable>(_ database: DatabaseURL, _ body: @Sendable (AppServices) async throws -> Value) async throws -> Value {
        try await TestDatabase.withServices(on: database, body)
    }

    func count(_ sql: String, on database: DatabaseURL) async throws -> Int {
        try await TestDatabase.withConnection(to: database) { connection in
            var result = 0
            for try await value in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: TestDatabase.logger).decode(Int.self) { result = value }
            return result
        }
    }

    @Test func applyToAnEmptyDatabaseThenAreANoOp() async throws {
        try await TestDatabase.withFreshDatabase { database in
            let first = try await withServices(database) { try await $0.migrate() }
            #expect(first == (try Migration.bundled().map(\.version)))
            let second = try await withServices(database) { try await $0.migrate() }
            #expect(second.isEmpty)
            #expect(try await count("SELECT count(*)::int FROM schema_migrations", on: database) == first.count)
        }
    }

    @Test func anUnreachableDatabaseIsReportedNotAwaitedForever() async throws {
        let nowhere = DatabaseURL(host: "127.0.0.1", port: 1, username: "x", password: "y", database: "z")
        let error = await #expect(throws: AppError.self) {
            try await withServices(nowhere) { try await $0.migrate(timeout: .seconds(1)) }
        }
        #expect(error?.code == "database_unreachable")
        #expect(error?.message.contains("127.0.0.1:1/z") == true)
    }

    @Test func concurrentRunnersTakeTurns() async throws {
        try await TestDatabase.withFreshDatabase { database in
            let results = try await withThrowingTaskGroup(of: [Int].self) { group in
                for _ in 0..<4 { group.addTask { try await withServices(database) { try await $0.migrate() } } }
                return try await group.reduce(into: [[Int]]()) { $0.append($1) }
            }
            #expect(results.filter { !$0.isEmpty }.count == 1, "exactly one runner applies the migrations")
            #expect(try await count("SELECT count(*)::int FROM schema_migrations", on: database) == (try Migration.bundled().count))
        }
    }

    @Test func phase1NamesDifferingOnlyByCaseStopTheMigrationWithTheirNames() async throws {
        try await TestDatabase.withFreshDatabase { database in
            try await TestDatabase.execute("CREATE TABLE users (id SERIAL PRIMARY KEY, username VARCHAR(50) NOT NULL, password VARCHAR(50) NOT NULL)", on: database)
            try await TestDatabase.execute("INSERT INTO users (username, password) VALUES ('JDupont', 'a'), ('jdupont', 'b'), ('autre', 'c')", on: database)
            let error = await #expect(throws: AppError.self) { try await withServices(database) { _ = try await $0.migrate() } }
            #expect(error?.message.contains("JDupont, jdupont") == true, "\(String(describing: error))")
            #expect(try await count("SELECT count(*)::int FROM users", on: database) == 3, "nothing lost: the migration rolled back")
            #expect(try await count("SELECT count(*)::int FROM information_schema.tables WHERE table_name = 'sessions'", on: database) == 0)
        }
    }

    @Test func applyOverAPhase1UsersTableKeepingRowsAndIds() async throws {
        try await TestDatabase.withFreshDatabase { database in
            for statement in [
                "CREATE TABLE users (id SERIAL PRIMARY KEY, username VARCHAR(50) UNIQUE NOT NULL, password VARCHAR(50) NOT NULL, role VARCHAR(20) DEFAULT 'user', active BOOLEAN, created_at TIMESTAMP)",
                "INSERT INTO users (id, username, password, role, active) VALUES (7, 'khora', 'admin-clair', 'admin', TRUE), (12, 'jdupont', 'azerty', NULL, NULL)",
                "SELECT setval('users_id_seq', 12)",
                // A Phase 1 table that already points at users(id).
                "CREATE TABLE conversations_phase1 (id SERIAL PRIMARY KEY, user_id INT REFERENCES users(id))",
                "INSERT INTO conversations_phase1 (user_id) VALUES (12)",
            ] {
                try await TestDatabase.execute(statement, on: database)
            }
            try await withServices(database) { _ = try await $0.migrate() }

            try await withServices(database) { services in
                let users = try await services.users.list(search: nil)
                #expect(users.map(\.id).sorted() == [7, 12])
                #expect(users.first { $0.id == 7 }?.level == .n4, "Phase 1 admins keep full rights")
                #expect(users.first { $0.id == 12 }?.level == .n0, "other Phase 1 users start read-only")
                #expect(users.first { $0.id == 12 }?.active == true, "a missing Phase 1 flag means active")
                _ = try await services.auth.login(username: "jdupont", password: "azerty", client: .commandLine)
                let created = try await services.users.create(NewUser(username: "nouveau", password: "motdepasse-solide"), actorID: nil, client: .commandLine)
                #expect(created.id == 13)
            }
            #expect(try await count("SELECT count(*)::int FROM conversations_phase1 WHERE user_id = 12", on: database) == 1)
        }
    }

    @Test func applyOverPhase1WorkflowLogsKeepingRowsAndTheirOwnColumns() async throws {
        try await TestDatabase.withFreshDatabase { database in
            for statement in [
                // Phase 1's tables as n8n wrote them: fewer columns, one of its own, free text where Phase 2 checks values.
                "CREATE TABLE widip_agent_logs (id SERIAL PRIMARY KEY, ticket_id VARCHAR(50), category VARCHAR(20), status VARCHAR(20), n8n_execution VARCHAR(40), created_at TIMESTAMP DEFAULT NOW())",
                "INSERT INTO widip_agent_logs (ticket_id, category, status, n8n_execution) VALUES ('1001', 'RESET_MDP', 'resolu', 'exec-1'), ('1002', 'Imprimante', 'fermé', 'exec-2')",
                "CREATE TABLE incident_logs (id SERIAL PRIMARY KEY, alert_id VARCHAR(100), device_name VARCHAR(200), responsibility VARCHAR(20), detected_at TIMESTAMP DEFAULT NOW())",
                "INSERT INTO incident_logs (alert_id, device_name, responsibility) VALUES ('55', 'SWITCH-A', 'FAI')",
            ] {
                try await TestDatabase.execute(statement, on: database)
            }
            try await withServices(database) { _ = try await $0.migrate() }
            #expect(try await count("SELECT count(*)::int FROM widip_agent_logs WHERE n8n_execution IS NOT NULL AND workflow = 'SUPPORT'", on: database) == 2)
            #expect(try await count("SELECT count(*)::int FROM incident_logs WHERE device_name = 'SWITCH-A' AND timeline = '[]'::jsonb", on: database) == 1)
            // New rows are checked; a Phase 1 value outside the list stays as it was.
            await #expect(throws: (any Error).self) {
                try await TestDatabase.execute("INSERT INTO widip_agent_logs (ticket_id, category, status) VALUES ('1003', 'Imprimante', 'resolu')", on: database)
            }
            #expect(try await count("SELECT count(*)::int FROM widip_agent_logs WHERE category = 'Imprimante'", on: database) == 1)
        }
    }
}
