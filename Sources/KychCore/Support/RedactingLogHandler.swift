import Logging

/// A log handler that writes one line per event to standard error, with RFC 8959 `secret-token:` values
/// (and `Bearer`/`Basic` credentials) blanked out of the message and every metadata value.
/// KyCH never logs secrets on purpose; this is the safety net for text that passes through from elsewhere.
package struct RedactingLogHandler: LogHandler {
    private var inner: StreamLogHandler
    package var metadata: Logger.Metadata = [:]
    package var logLevel: Logger.Level = .info

    package init(label: String) {
        inner = StreamLogHandler.standardError(label: label)
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
        var event = event
        event.message = "\(Self.redact(event.message.description))"
        event.metadata = Self.redact(metadata.merging(event.metadata ?? [:]) { $1 })
        var handler = inner
        handler.logLevel = .trace
        handler.log(event: event)
    }

    /// Replaces credentials in `text` by `<redacted>`.
    package static func redact(_ text: String) -> String {
        guard text.contains("secret-token:") || text.range(of: "bearer ", options: .caseInsensitive) != nil
                || text.range(of: "basic ", options: .caseInsensitive) != nil else { return text }
        var out = text
        for prefix in ["secret-token:", "Bearer ", "bearer ", "Basic ", "basic "] {
            var searchStart = out.startIndex
            while let range = out.range(of: prefix, range: searchStart..<out.endIndex) {
                let valueEnd = out[range.upperBound...].firstIndex { $0.isWhitespace || "\"',;}]".contains($0) } ?? out.endIndex
                out.replaceSubrange(range.upperBound..<valueEnd, with: "<redacted>")
                searchStart = out.index(range.upperBound, offsetBy: "<redacted>".count)
            }
        }
        return out
    }

    static func redact(_ metadata: Logger.Metadata) -> Logger.Metadata {
        metadata.mapValues(redact)
    }

    static func redact(_ value: Logger.MetadataValue) -> Logger.MetadataValue {
        switch value {
        case .string(let s): .string(redact(s))
        case .stringConvertible(let c): .string(redact(c.description))
        case .array(let a): .array(a.map(redact))
        case .dictionary(let d): .dictionary(d.mapValues(redact))
        }
    }
}
