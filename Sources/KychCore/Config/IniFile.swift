import Foundation

/// A parsed INI file in GNU Taler's dialect: `[section]` headers, `KEY = VALUE` lines,
/// whole-line comments starting with `#` or `;`, case-insensitive section and key names.
///
/// Values keep everything after the first `=` (so they may hold `=`, `:`, `#` and spaces),
/// trimmed of surrounding white space and of one pair of enclosing double quotes.
/// `$NAME`, `${NAME}` and `${NAME:-default}` expand from the environment; `$$` is a literal `$`.
package struct IniFile: Sendable {
    /// One `KEY = VALUE` line.
    package struct Entry: Sendable, Equatable {
        package var key: String
        package var value: String
        package var line: Int
    }

    /// One `[name]` section, with its entries in file order.
    package struct Section: Sendable {
        package var name: String
        package var line: Int
        package var entries: [Entry]

        /// The entry for `key` (case-insensitive); the last one wins if a key repeats.
        package func entry(_ key: String) -> Entry? {
            entries.last { $0.key.caseInsensitiveCompare(key) == .orderedSame }
        }
    }

    package var path: String
    package var sections: [Section]

    /// The section called `name` (case-insensitive).
    package func section(_ name: String) -> Section? {
        sections.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }
    }

    /// Reads and parses the file at `path`.
    package static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigError) -> IniFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(file: path, line: nil, section: nil, key: nil, message: "cannot read the configuration file (missing or not readable)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(file: path, line: nil, section: nil, key: nil, message: "the configuration file is not valid UTF-8")
        }
        return try parse(text, path: path, environment: environment)
    }

    /// Parses INI text; `path` is used in error messages only.
    package static func parse(_ text: String, path: String, environment: [String: String]) throws(ConfigError) -> IniFile {
        var sections: [Section] = []
        var lineNumber = 0
        // Any line break ends a line: "\r\n" is one Character, so splitting at "\n" would not split a CRLF file at all.
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            lineNumber += 1
            // Structure is read on Unicode scalars, not Characters: a combining mark after `[`, `=` or `"` would
            // otherwise fuse with it into one Character and hide it (a written-out value would not read back the same).
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines).unicodeScalars
            if line.isEmpty || line.first == "#" || line.first == ";" { continue }
            if line.first == "[" {
                let name = String(line.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
                guard line.last == "]", line.count > 2, !name.isEmpty else {
                    throw ConfigError(file: path, line: lineNumber, section: nil, key: nil, message: "malformed section header \(String(line))")
                }
                if let index = sections.firstIndex(where: { $0.name.caseInsensitiveCompare(name) == .orderedSame }) {
                    // A repeated header continues the earlier section, as in GNU Taler.
                    let existing = sections.remove(at: index)
                    sections.append(existing)
                } else {
                    sections.append(Section(name: name, line: lineNumber, entries: []))
                }
                continue
            }
            guard let eq = line.firstIndex(of: "=") else {
                throw ConfigError(file: path, line: lineNumber, section: sections.last?.name, key: nil,
                                  message: "expected KEY = VALUE, a [section] header or a comment")
            }
            let key = String(line[..<eq]).trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
                throw ConfigError(file: path, line: lineNumber, section: sections.last?.name, key: key.isEmpty ? nil : key,
                                  message: "invalid key name")
            }
            guard !sections.isEmpty else {
                throw ConfigError(file: path, line: lineNumber, section: nil, key: key, message: "option outside of any [section]")
            }
            var value = String(line[line.index(after: eq)...]).trimmingCharacters(in: .whitespaces).unicodeScalars[...]
            if value.count >= 2, value.first == "\"", value.last == "\"" {
                value = value.dropFirst().dropLast()
            }
            let expanded: String
            do {
                expanded = try expand(String(value), environment: environment)
            } catch let failure as ExpansionFailure {
                throw ConfigError(file: path, line: lineNumber, section: sections[sections.count - 1].name, key: key,
                                  message: failure.message)
            } catch {
                throw ConfigError(file: path, line: lineNumber, section: sections[sections.count - 1].name, key: key,
                                  message: "\(error)")
            }
            sections[sections.count - 1].entries.append(Entry(key: key, value: expanded, line: lineNumber))
        }
        return IniFile(path: path, sections: sections)
    }

    struct ExpansionFailure: Error { var message: String }

    /// Expands `$NAME`, `${NAME}`, `${NAME:-default}` and `$$`.
    static func expand(_ value: String, environment: [String: String]) throws -> String {
        guard value.contains("$") else { return value }
        var out = ""
        var chars = Array(value)[...]
        func isNameChar(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c.isNumber || c == "_") }
        while let c = chars.popFirst() {
            guard c == "$" else { out.append(c); continue }
            guard let next = chars.first else { out.append("$"); break }
            if next == "$" { chars.removeFirst(); out.append("$"); continue }
            if next == "{" {
                chars.removeFirst()
                guard let close = chars.firstIndex(of: "}") else {
                    throw ExpansionFailure(message: "unterminated ${...} in value")
                }
                let body = String(chars[..<close])
                chars = chars[chars.index(after: close)...]
                let name: String
                var fallback: String?
                if let range = body.range(of: ":-") {
                    name = String(body[..<range.lowerBound])
                    fallback = String(body[range.upperBound...])
                } else {
                    name = body
                }
                guard !name.isEmpty, name.allSatisfy(isNameChar) else {
                    throw ExpansionFailure(message: "invalid variable name ${\(body)}")
                }
                if let v = environment[name], !(fallback != nil && v.isEmpty) {
                    out += v
                } else if let fallback {
                    out += try expand(fallback, environment: environment)
                } else {
                    throw ExpansionFailure(message: "environment variable \(name) is not set")
                }
                continue
            }
            guard isNameChar(next) else { out.append("$"); continue }
            var name = ""
            while let n = chars.first, isNameChar(n) { name.append(n); chars.removeFirst() }
            guard let v = environment[name] else {
                throw ExpansionFailure(message: "environment variable \(name) is not set")
            }
            out += v
        }
        return out
    }
}

/// A configuration problem, located as precisely as known: file, line, section and key.
package struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    package var file: String
    package var line: Int?
    package var section: String?
    package var key: String?
    package var message: String

    package init(file: String, line: Int?, section: String?, key: String?, message: String) {
        self.file = file
        self.line = line
        self.section = section
        self.key = key
        self.message = message
    }

    /// `FILE:LINE: [section] KEY: message`
    package var description: String {
        var s = file
        if let line { s += ":\(line)" }
        s += ":"
        if let section { s += " [\(section)]" }
        if let key { s += " \(key.uppercased()):" } else if section != nil { s += ":" }
        return s + " " + message
    }
}

/// Several configuration problems found together; `warnings` did not stop the load.
package struct ConfigErrors: Error, Sendable, CustomStringConvertible {
    package var errors: [ConfigError]
    package var description: String { errors.map(\.description).joined(separator: "\n") }
}

extension IniFile {
    /// Splits a bracketed list `{a, b, c}` (the braces are optional) into trimmed, non-empty items.
    package static func list(_ value: String) -> [String] {
        var v = value.trimmingCharacters(in: .whitespaces)
        if v.hasPrefix("{") && v.hasSuffix("}") { v = String(v.dropFirst().dropLast()) }
        return v.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
