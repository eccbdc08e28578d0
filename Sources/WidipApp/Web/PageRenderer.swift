import Foundation
import Hummingbird
import Mustache

/// Renders the Mustache templates shipped in the library's resources. Templates only ever see view models made of
/// already-formatted strings; `{{ }}` escapes HTML.
public struct PageRenderer: Sendable {
    let library: MustacheLibrary

    public init() async throws {
        guard let directory = Bundle.module.url(forResource: "Templates", withExtension: nil, subdirectory: "Resources") else {
            throw AppError(.internalError, "Les gabarits HTML sont introuvables dans l'installation.")
        }
        self.library = try await MustacheLibrary(directory: directory.path)
    }

    public func render(_ template: String, _ model: Any) throws -> String {
        guard let html = library.render(model, withTemplate: template) else {
            throw AppError(.internalError, code: "missing_template", "Gabarit introuvable.")
        }
        return html
    }

    func response(_ template: String, _ model: Any, status: HTTPResponse.Status = .ok) throws -> Response {
        Response(
            status: status,
            headers: [.contentType: "text/html; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: try render(template, model)))
        )
    }
}
