import Foundation
import Testing
@testable import WidipApp

@Suite("Configuration is read once and fails with one line naming the variable", .timeLimit(.minutes(2)))
struct ConfigTests {
    let valid = [
        "JWT_SECRET": String(repeating: "s", count: 32),
        "DATABASE_URL": "postgresql://widip:secret@db.example:5433/widip",
    ]

    func load(_ environment: [String: String]) async throws -> AppConfig {
        try await AppConfig.load(environment: environment, files: [])
    }

    @Test func defaultsMatchThePRD() async throws {
        let config = try await load(valid)
        #expect(config.port == 3002)
        #expect(config.jwtExpireHours == 8)
        #expect(config.rateLimitPerMinute == 100)
        #expect(config.bcryptCost == 12)
        #expect(config.corsOrigins.isEmpty)
        #expect(config.databaseURL == DatabaseURL(host: "db.example", port: 5433, username: "widip", password: "secret", database: "widip", tlsMode: .prefer))
    }

    @Test func aSecretMayComeFromAFileNamedByItsFileVariable() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("secrets-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let jwt = folder.appendingPathComponent("jwt_secret")
        try "\(String(repeating: "f", count: 40))\n".write(to: jwt, atomically: true, encoding: .utf8)
        let tokens = folder.appendingPathComponent("workflow_tokens")
        try "SUPPORT=\(String(repeating: "t", count: 32))\n".write(to: tokens, atomically: true, encoding: .utf8)
        let config = try await load([
            "JWT_SECRET_FILE": jwt.path, "WORKFLOW_TOKENS_FILE": tokens.path, "DATABASE_URL": valid["DATABASE_URL"]!,
        ])
        #expect(config.jwtSecret == String(repeating: "f", count: 40), "the file's last newline is not part of the secret")
        #expect(config.workflowTokens.workflow(presenting: String(repeating: "t", count: 32)) == "SUPPORT")
        // Both ways at once, or a file that cannot be read: refused, naming the variable.
        let both = await #expect(throws: ConfigError.self) { try await load(valid.merging(["JWT_SECRET_FILE": jwt.path]) { $1 }) }
        #expect(both?.variable == "JWT_SECRET_FILE")
        let missing = await #expect(throws: ConfigError.self) {
            try await load(["JWT_SECRET_FILE": folder.appendingPathComponent("absent").path, "DATABASE_URL": valid["DATABASE_URL"]!])
        }
        #expect(missing?.variable == "JWT_SECRET_FILE")
    }

    @Test func missingSecretIsNamed() async throws {
        let error = await #expect(throws: ConfigError.self) { try await load(["DATABASE_URL": valid["DATABASE_URL"]!]) }
        #expect(error?.variable == "JWT_SECRET")
    }

    @Test func shortSecretIsRefused() async throws {
        var environment = valid
        environment["JWT_SECRET"] = "trop-court"
        let error = await #expect(throws: ConfigError.self) { try await load(environment) }
        #expect(error?.variable == "JWT_SECRET")
        #expect(error?.problem.contains("32") == true)
    }

    @Test(arguments: [
        ("DATABASE_URL", "mysql://x@y/z"),
        ("DATABASE_URL", "postgresql://host-without-user/db"),
        ("PORT", "70000"),
        ("PORT", "abc"),
        ("JWT_EXPIRE_HOURS", "0"),
        ("RATE_LIMIT_PER_MINUTE", "-1"),
        ("BCRYPT_COST", "3"),
        ("CORS_ORIGINS", "*"),
        ("CORS_ORIGINS", "http://ok.example,not an origin"),
        ("MCP_SERVER_URL", "localhost:3001"),
        ("DISPLAY_TIME_ZONE", "Mars/Olympus"),
    ])
    func invalidValueIsNamed(variable: String, value: String) async throws {
        var environment = valid
        environment[variable] = value
        let error = await #expect(throws: ConfigError.self) { try await load(environment) }
        #expect(error?.variable == variable)
    }

    @Test func corsOriginsAreAList() async throws {
        var environment = valid
        environment["CORS_ORIGINS"] = "http://localhost:8080, http://localhost:5173/"
        #expect(try await load(environment).corsOrigins == ["http://localhost:8080", "http://localhost:5173"])
    }

    @Test func dotEnvFileIsHonouredAfterTheEnvironment() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent(".env")
        try "JWT_SECRET=\(String(repeating: "f", count: 40))\nDATABASE_URL=postgresql://a:b@localhost/fromfile\nPORT=4000\n".write(to: file, atomically: true, encoding: .utf8)
        let config = try await AppConfig.load(environment: ["PORT": "5000"], files: [file.path])
        #expect(config.port == 5000)
        #expect(config.databaseURL.database == "fromfile")
        #expect(config.databaseURL.tlsMode == .disable)
    }
}
