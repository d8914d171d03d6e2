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
        guard mayHoldCredential(text) else { return text }
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

    /// Whether `text` contains `secret-token:`, or `bearer ` or `basic ` in any case: one pass over its UTF-8 bytes,
    /// since every log line's message and metadata values go through it (Foundation's case-insensitive search was
    /// 1.5 % of the gateway's CPU per flow).
    package static func mayHoldCredential(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            for start in bytes.indices {
                switch bytes[start] | 0x20 {   // ASCII lower case
                case UInt8(ascii: "s"): if matches(bytes, at: start, "secret-token:", ignoringCase: false) { return true }
                case UInt8(ascii: "b"):
                    if matches(bytes, at: start, "bearer ", ignoringCase: true) || matches(bytes, at: start, "basic ", ignoringCase: true) {
                        return true
                    }
                default: continue
                }
            }
            return false
        }
    }

    private static func matches(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int, _ word: StaticString,
                                ignoringCase: Bool) -> Bool {
        guard bytes.count - start >= word.utf8CodeUnitCount else { return false }
        let word = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        for offset in word.indices {
            let byte = bytes[start + offset]
            let letter = ignoringCase && (0x41...0x5A).contains(byte) ? byte | 0x20 : byte
            guard letter == word[offset] else { return false }
        }
        return true
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
