import Foundation
import Hummingbird
import Mustache

/// A view model and the template that shows it: the pair is fixed in one place, so a page cannot be rendered with
/// another page's template.
protocol PageModel: Sendable {
    /// Path of the template under `Resources/Templates`, without `.mustache`.
    static var template: String { get }
}

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

    /// A page, or a fragment that arrives after its page (rows of a live table).
    func render<Model: PageModel>(_ model: Model) throws -> String {
        guard let html = library.render(model, withTemplate: Model.template) else {
            throw AppError(.internalError, code: "missing_template", "Gabarit introuvable.")
        }
        return html
    }

    func response<Model: PageModel>(_ model: Model, status: HTTPResponse.Status = .ok) throws -> Response {
        Self.html(try render(model), status: status)
    }

    static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
