import Foundation
import Logging

/// A log handler that writes one line per event to standard error, as text or as a JSON object (``LogFormat``), with
/// RFC 8959 `secret-token:` values (and `Bearer`/`Basic` credentials) blanked out of the message and every metadata
/// value. KyCH never logs secrets on purpose; this is the safety net for text that passes through from elsewhere.
/// The metadata provider's (``RequestID/metadataProvider``: the request id) joins each line's metadata.
package struct RedactingLogHandler: LogHandler {
    private var inner: StreamLogHandler
    private let label: String
    private let format: LogFormat
    package var metadata: Logger.Metadata = [:]
    package var metadataProvider: Logger.MetadataProvider?
    package var logLevel: Logger.Level = .info

    package init(label: String) {
        self.init(label: label, format: .text, metadataProvider: nil)
    }

    package init(label: String, format: LogFormat, metadataProvider: Logger.MetadataProvider?) {
        self.label = label
        self.format = format
        self.metadataProvider = metadataProvider
        inner = StreamLogHandler.standardError(label: label)
    }

    /// Makes every logger of the process write through this handler in `format`, each line with its request id.
    package static func bootstrap(format: LogFormat) {
        LoggingSystem.bootstrap({ label, provider in RedactingLogHandler(label: label, format: format, metadataProvider: provider) },
                                metadataProvider: RequestID.metadataProvider)
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
        var event = event
        event.message = "\(Self.redact(event.message.description))"
        let provided = metadataProvider?.get() ?? [:]
        event.metadata = Self.redact(metadata.merging(provided) { $1 }.merging(event.metadata ?? [:]) { $1 })
        switch format {
        case .text:
            var handler = inner
            handler.logLevel = .trace
            handler.log(event: event)
        case .json:
            var line = Self.jsonLine(event, label: label, time: Date()).serialized()
            line.append("\n")
            FileHandle.standardError.write(Data(line.utf8))
        }
    }

    /// One JSON log line: the event's fields, and its metadata as members (they cannot replace the event's fields).
    static func jsonLine(_ event: LogEvent, label: String, time: Date) -> JSON {
        var object = (event.metadata ?? [:]).mapValues(json)
        object.merge([
            "timestamp": .string(Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(time)),
            "level": .string(event.level.rawValue), "label": .string(label), "message": .string(event.message.description),
            "source": .string(event.source),
        ]) { $1 }
        return .object(object)
    }

    static func json(_ value: Logger.MetadataValue) -> JSON {
        switch value {
        case .string(let s): .string(s)
        case .stringConvertible(let c): .string(c.description)
        case .array(let a): .array(a.map(json))
        case .dictionary(let d): .object(d.mapValues(json))
        }
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
