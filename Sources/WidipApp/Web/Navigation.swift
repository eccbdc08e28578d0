/// A module's place in the header and on the home page. Who sees it is not restated here: it follows the access
/// rule of `GET path`.
struct NavigationEntry: Sendable {
    /// The header link's text; nil for a module that has only a home tile.
    var label: String? = nil
    let path: String
    var tile: ModuleTile? = nil
}

/// A module on the home page (PRD 1.4).
struct ModuleTile: Sendable {
    let name: String
    /// Symbol id in /static/img/icons.svg.
    let icon: String
    let description: String
}

/// The header links and home tiles of every module, each with the level of its page taken from the access table.
struct Navigation: Sendable {
    struct Item: Sendable {
        let entry: NavigationEntry
        let level: AccreditationLevel
    }

    let items: [Item]

    init(modules: [any AppModule], table: RouteAccessTable) {
        items = modules.flatMap(\.navigation).compactMap { entry in
            return switch table.access(method: .get, path: entry.path) {
            case .level(let level), .levelOrWorkflow(let level): Item(entry: entry, level: level)
            case .anonymous: Item(entry: entry, level: .n0)
            case .workflow: nil
            // A page missing from the table is refused to everyone: no link to it.
            case nil: nil
            }
        }
    }

    func links(for level: AccreditationLevel, current: String) -> [NavLink] {
        [NavLink(label: "Accueil", href: "/", current: current == "/")]
            + items.compactMap { item in
                guard level >= item.level, let label = item.entry.label else { return nil }
                return NavLink(label: label, href: item.entry.path, current: current == item.entry.path)
            }
    }

    func tiles(for level: AccreditationLevel) -> [TileView] {
        items.compactMap { item in
            guard let tile = item.entry.tile else { return nil }
            let reason: String? = level < item.level ? "Réservé au niveau \(item.level.rawValue) et plus" : nil
            return TileView(name: tile.name, icon: tile.icon, description: tile.description, href: reason == nil ? item.entry.path : nil, unavailableReason: reason)
        }
    }
}

struct NavLink: Sendable {
    let label: String
    let href: String
    let current: Bool
}

struct TileView: Sendable {
    let name: String
    let icon: String
    let description: String
    let href: String?
    /// Why the tile is greyed, when it is.
    let unavailableReason: String?
}
