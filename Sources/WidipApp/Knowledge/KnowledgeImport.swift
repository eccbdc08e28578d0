import Foundation

/// `widip kb import PATH`: every `.md` and `.txt` file under PATH becomes a document of the knowledge base, cut into
/// chunks. Idempotent: importing the same folder again changes nothing, a changed file changes only its changed
/// chunks. A document is named by its path under PATH, so the folder can move.
public struct KnowledgeImport: Sendable {
    let repository: KnowledgeRepository

    public struct Report: Sendable, Equatable {
        public var documents = 0
        public var added = 0
        public var updated = 0
        public var unchanged = 0
        public var removed = 0
        /// Files that could not be read or whose front matter is wrong, with why: the others are imported.
        public var refused: [String] = []
    }

    public init(services: AppServices) {
        repository = services.knowledge
    }

    /// Imports `path` (a folder or one file); `progress` is told of each document as it is done.
    public func run(_ path: String, progress: @Sendable (_ done: Int, _ total: Int, _ key: String) -> Void = { _, _, _ in }) async throws -> Report {
        let root = URL(fileURLWithPath: path).standardizedFileURL
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isFolder) else {
            throw AppError(.badRequest, "\(path) : introuvable")
        }
        let files = isFolder.boolValue ? Self.files(under: root) : [root]
        var report = Report()
        for (index, file) in files.enumerated() {
            let key = isFolder.boolValue ? String(file.path.dropFirst(root.path.count + 1)) : file.lastPathComponent
            do {
                let data = try Data(contentsOf: file)
                guard let text = String(data: data, encoding: .utf8) else { throw KnowledgeDocument.Invalid(description: "\(key) : pas en UTF-8") }
                let modified = (try? file.resourceValues(forKeys: [.contentModificationDateKey]))?.contentModificationDate
                let document = try KnowledgeDocument.parse(
                    key: key, text: text, fallbackTitle: file.deletingPathExtension().lastPathComponent, fallbackDate: modified
                )
                let changes = try await repository.client.transaction(logger: repository.logger) {
                    try await repository.store(document, chunks: document.chunks(), on: $0)
                }
                report.documents += 1
                report.added += changes.added
                report.updated += changes.updated
                report.unchanged += changes.unchanged
                report.removed += changes.removed
            } catch let invalid as KnowledgeDocument.Invalid {
                report.refused.append(invalid.description)
            } catch let error as CocoaError {
                report.refused.append("\(key) : illisible (\(error.code.rawValue))")
            }
            progress(index + 1, files.count, key)
        }
        return report
    }

    /// `widip kb reembed`: every chunk loses its embedding; the servers embed them again with the configured model.
    public func forgetEmbeddings() async throws -> Int {
        try await repository.forgetEmbeddings()
    }

    /// The `.md` and `.txt` files under `root`, in a stable order, hidden ones left out.
    static func files(under root: URL) -> [URL] {
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey], options: [.skipsHiddenFiles]) else {
            return []
        }
        var files: [URL] = []
        for case let url as URL in walker where ["md", "txt", "markdown"].contains(url.pathExtension.lowercased()) {
            if (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true { files.append(url.standardizedFileURL) }
        }
        return files.sorted { $0.path < $1.path }
    }
}
