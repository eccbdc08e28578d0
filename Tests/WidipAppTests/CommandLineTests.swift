import Foundation
import Testing
import WidipApp
import WidipTestSupport

/// The `widip` executable, run as a separate process.
@Suite("Command line", .timeLimit(.minutes(2)))
struct CommandLineTests {
    static var binary: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug/widip")
    }

    struct Outcome: Sendable {
        let status: Int32
        let output: String
        let errors: String
    }

    static func run(_ arguments: [String], environment: [String: String], input: String? = nil) async throws -> Outcome {
        try await offThePool { try runBlocking(arguments, environment: environment, input: input) }
    }

    static func runBlocking(_ arguments: [String], environment: [String: String], input: String? = nil) throws -> Outcome {
        // An empty working directory: no .env or var/local.env to pick up. Input and output go through files in it.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let files = (input: directory.appendingPathComponent("input"), output: directory.appendingPathComponent("output"), errors: directory.appendingPathComponent("errors"))
        try Data((input ?? "").utf8).write(to: files.input)
        let process = try ChildProcess(
            executable: binary.path, arguments: arguments, environment: environment.merging(["PATH": "/usr/bin:/bin"]) { first, _ in first },
            directory: directory.path, standardInput: files.input.path, standardOutput: files.output.path, standardError: files.errors.path
        )
        let status = process.waitForExitBlocking()
        return Outcome(
            status: status, output: (try? String(contentsOf: files.output, encoding: .utf8)) ?? "", errors: (try? String(contentsOf: files.errors, encoding: .utf8)) ?? ""
        )
    }

    @Test func unknownSubcommandPrintsOneLineAndExitsWith2() async throws {
        let outcome = try await Self.run(["frobnicate"], environment: [:])
        #expect(outcome.status == 2)
        #expect(outcome.errors.split(separator: "\n").count == 1)
    }

    @Test func badOptionValueExitsWith2() async throws {
        let outcome = try await Self.run(["user", "create", "--username", "x", "--level", "N9", "--password-stdin"], environment: [:])
        #expect(outcome.status == 2)
        #expect(outcome.errors.split(separator: "\n").count == 1)
    }

    @Test func serveRefusesAShortSecretNamingTheVariable() async throws {
        let outcome = try await Self.run(["serve"], environment: ["JWT_SECRET": "short", "DATABASE_URL": "postgresql://a:b@127.0.0.1:1/x"])
        #expect(outcome.status == 1)
        let lines = outcome.errors.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(lines.first?.contains("JWT_SECRET") == true)
        #expect(!outcome.errors.contains("short"))
    }

    @Test func userCreateResetAndLegacyHashingAgainstTheDatabase() async throws {
        try await TestDatabase.withFreshDatabase { database in
            let url = "postgresql://\(database.username):\(database.password ?? "")@\(database.host):\(database.port)/\(database.database)"
            let environment = ["JWT_SECRET": String(repeating: "k", count: 40), "DATABASE_URL": url, "BCRYPT_COST": "4"]
            #expect(try await Self.run(["migrate"], environment: environment).status == 0)
            #expect(try await Self.run(["migrate"], environment: environment).output.contains("déjà à jour"))

            let created = try await Self.run(
                ["user", "create", "--username", "khora", "--level", "N4", "--role", "admin", "--password-stdin"], environment: environment,
                input: "un-mot-de-passe-long\n"
            )
            #expect(created.status == 0, "\(created.errors)")
            let duplicate = try await Self.run(
                ["user", "create", "--username", "KHORA", "--level", "N1", "--password-stdin"], environment: environment, input: "un-autre-mot-de-passe\n"
            )
            #expect(duplicate.status == 1)
            #expect(duplicate.errors.contains("déjà utilisé"))

            let reset = try await Self.run(["user", "reset-password", "--username", "khora", "--password-stdin"], environment: environment, input: "nouveau-mot-de-passe\n")
            #expect(reset.status == 0, "\(reset.errors)")

            try await TestDatabase.execute("INSERT INTO users (username, password) VALUES ('legacy1', 'clair-1'), ('legacy2', 'clair-2')", on: database)
            let hashed = try await Self.run(["hash-legacy-passwords"], environment: environment)
            #expect(hashed.output.contains("2 mot(s)"))
            let again = try await Self.run(["hash-legacy-passwords"], environment: environment)
            #expect(again.output.contains("0 mot(s)"))

            let bootstrap = try await Self.run(["bootstrap-admin"], environment: environment)
            #expect(bootstrap.status == 0)
            #expect(bootstrap.output.isEmpty, "an active N4 exists: no new admin, no password printed")
        }
    }

    @Test func kbImportSaysWhatChangedAndFailsNamingTheFilesItRefused() async throws {
        try await TestDatabase.withFreshDatabase { database in
            let url = "postgresql://\(database.username):\(database.password ?? "")@\(database.host):\(database.port)/\(database.database)"
            let environment = ["JWT_SECRET": String(repeating: "k", count: 40), "DATABASE_URL": url]
            try await KnowledgeTests.withFolder(["switch.md": KnowledgeTests.switchTicket, "imprimante.md": KnowledgeTests.printerProcedure]) { folder in
                let first = try await Self.run(["kb", "import", folder.path], environment: environment)
                #expect(first.status == 0, "\(first.errors)")
                #expect(first.output.contains("2 documents : 2 passages ajoutés, 0 modifiés, 0 inchangés, 0 supprimés."), "\(first.output)")
                #expect(first.errors.contains("[2/2]"), "progress is shown")
                let again = try await Self.run(["kb", "import", folder.path], environment: environment)
                #expect(again.output.contains("0 passages ajoutés, 0 modifiés, 2 inchangés"), "\(again.output)")
                try "---\ntype: rumeur\n---\nTexte".write(to: folder.appendingPathComponent("faux.md"), atomically: true, encoding: .utf8)
                let refused = try await Self.run(["kb", "import", folder.path], environment: environment)
                #expect(refused.status == 1)
                #expect(refused.output.contains("refusé : faux.md : type « rumeur » inconnu"), "\(refused.output)")
                let reembed = try await Self.run(["kb", "reembed"], environment: environment)
                #expect(reembed.status == 0 && reembed.output.hasPrefix("0 passages à recalculer"), "\(reembed.output)")
                let missing = try await Self.run(["kb", "import", folder.appendingPathComponent("absent").path], environment: environment)
                #expect(missing.status != 0)
                #expect((missing.errors + missing.output).contains("introuvable"), "\(missing.errors)")
            }
        }
    }

    @Test func bootstrapAdminPrintsThePasswordOnlyOnce() async throws {
        try await TestDatabase.withFreshDatabase { database in
            let url = "postgresql://\(database.username):\(database.password ?? "")@\(database.host):\(database.port)/\(database.database)"
            let environment = ["JWT_SECRET": String(repeating: "k", count: 40), "DATABASE_URL": url, "BCRYPT_COST": "4"]
            let first = try await Self.run(["bootstrap-admin"], environment: environment)
            #expect(first.status == 0)
            #expect(first.output.contains("admin"))
            let second = try await Self.run(["bootstrap-admin"], environment: environment)
            #expect(second.output.isEmpty)
        }
    }
}
