import Foundation

/// How much harm a tool can do, from L0 (harmless read) to L4 (never without a human's approval).
public enum ToolLevel: Int, Sendable, Comparable, CaseIterable, Codable {
    case l0 = 0, l1, l2, l3, l4

    public init?(label: String) {
        let text = label.trimmingCharacters(in: .whitespaces).uppercased()
        guard text.count == 2, text.first == "L", let digit = Int(text.dropFirst()), let level = ToolLevel(rawValue: digit) else { return nil }
        self = level
    }

    public var label: String { "L\(rawValue)" }
    /// From this level on, a call needs a SAFEGUARD approval whoever asks.
    public var needsApproval: Bool { self >= .l3 }
    /// From this level on, every call is written to the audit log.
    public var isAudited: Bool { self >= .l2 }

    public static func < (lhs: ToolLevel, rhs: ToolLevel) -> Bool { lhs.rawValue < rhs.rawValue }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(label)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let level = ToolLevel(label: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "niveau « \(text) » inconnu (L0 à L4)")
        }
        self = level
    }
}

/// What WIDIP knows about a tool, whatever the server says of it.
public struct ToolCatalogueEntry: Sendable, Codable, Equatable {
    public var name: String
    public var level: ToolLevel
    public var label: String
    public var description: String
}

/// The security level of every known tool, from `Resources/mcp-tools.json` with `MCP_TOOL_LEVELS` overrides.
/// A tool the catalogue does not know is L4: it never runs without an approval.
public struct ToolCatalogue: Sendable {
    public let entries: [String: ToolCatalogueEntry]

    public init(entries: [ToolCatalogueEntry]) {
        self.entries = Dictionary(entries.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
    }

    public func entry(_ tool: String) -> ToolCatalogueEntry? { entries[tool] }

    public func level(of tool: String) -> ToolLevel { entries[tool]?.level ?? .l4 }

    /// The catalogue shipped with the product, with the configured level overrides applied.
    public static func bundled(overrides: [String: ToolLevel] = [:]) throws -> ToolCatalogue {
        guard let url = Bundle.module.url(forResource: "mcp-tools", withExtension: "json", subdirectory: "Resources") else {
            throw AppError(.internalError, "mcp-tools.json est introuvable dans l'installation.")
        }
        struct File: Decodable { let tools: [ToolCatalogueEntry] }
        var entries = try JSONDecoder().decode(File.self, from: Data(contentsOf: url)).tools
        for (name, level) in overrides {
            if let index = entries.firstIndex(where: { $0.name == name }) {
                entries[index].level = level
            } else {
                entries.append(ToolCatalogueEntry(name: name, level: level, label: name, description: "Niveau fixé par MCP_TOOL_LEVELS."))
            }
        }
        return ToolCatalogue(entries: entries)
    }

    /// The overrides that put a tool below the level the shipped catalogue gives it (a tool it does not know counts
    /// as L4): said at start-up, since each lets an action run with less approval than WIDIP decided.
    public static func lowered(by overrides: [String: ToolLevel]) throws -> [(tool: String, catalogue: ToolLevel, configured: ToolLevel)] {
        let shipped = try bundled()
        return overrides.compactMap { tool, configured in
            let catalogue = shipped.level(of: tool)
            return configured < catalogue ? (tool, catalogue, configured) : nil
        }.sorted { $0.tool < $1.tool }
    }

    /// Parses `MCP_TOOL_LEVELS` (`outil=L2,autre=L3`).
    public static func parseOverrides(_ text: String) throws(ConfigError) -> [String: ToolLevel] {
        var overrides: [String: ToolLevel] = [:]
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, let level = ToolLevel(label: parts[1]) else {
                throw ConfigError(variable: "MCP_TOOL_LEVELS", problem: "« \(item) » : attendu outil=L0 … outil=L4, séparés par des virgules")
            }
            overrides[parts[0]] = level
        }
        return overrides
    }
}
