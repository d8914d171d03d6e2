import Foundation
import Logging

/// The id of the request being served: the caller's `X-Request-Id` when it is a safe token, else one made here. Bound
/// to the task serving the request, so every log line of that request carries it (``RequestID/metadataProvider``)
/// without each logger being handed it.
package enum RequestID {
    /// The header that carries it in and out.
    package static let header = "X-Request-Id"
    /// The longest id taken from a caller.
    package static let maximumLength = 128

    @TaskLocal package static var current: String?

    /// `presented` when it is 1 to ``maximumLength`` characters of letters, digits and `-._:@/+=`, so it cannot
    /// break a log line, a header or a JSON body nor flood them; else a new random id.
    package static func accept(_ presented: String?) -> String {
        if let presented, (1...maximumLength).contains(presented.utf8.count),
           presented.utf8.allSatisfy({ byte in
               (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || "-._:@/+=".utf8.contains(byte)
           }) {
            return presented
        }
        return Secrets.randomToken(bytes: 12)
    }

    /// Adds `request_id` to the metadata of every log line written while a request is served.
    package static let metadataProvider = Logger.MetadataProvider {
        guard let current else { return [:] }
        return ["request_id": .string(current)]
    }
}

/// How log lines are written to standard error: `LOG_FORMAT`.
package enum LogFormat: String, Sendable, Equatable {
    /// swift-log's text lines.
    case text
    /// One JSON object per line: `timestamp`, `level`, `label`, `message`, `source` and every metadata key.
    case json
}
