import Foundation
import KychCore
import KychFuzzSupport

/// `IniFile.parse`: a configuration file. Checks: errors name a line of the text; every parsed section and key can
/// be found again; values hold no line break; writing the parsed file back out parses to the same sections.
@main enum INITarget: FuzzTarget {
    static let name = "ini"
    static let environment = ["HOME": "/home/kych", "KYCH_EXCHANGE_SECRET": "s3cr3t", "EMPTY": ""]

    static func run(_ input: Data) -> Bool {
        // `IniFile.load` refuses what is not UTF-8 before parsing.
        guard let text = String(data: input, encoding: .utf8) else { return false }
        let ini: IniFile
        do {
            ini = try IniFile.parse(text, path: "fuzz.conf", environment: environment)
        } catch {
            let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).count
            FuzzCheck.require(error.line.map { (1...lines).contains($0) } ?? false, "error outside the text: \(error)")
            return false
        }
        for section in ini.sections {
            FuzzCheck.require(ini.section(section.name)?.line == section.line, "section \(section.name) is not found again")
            for entry in section.entries {
                FuzzCheck.require(!entry.key.isEmpty && section.entry(entry.key) != nil, "key \(entry.key) is not found again")
                FuzzCheck.require(!entry.value.contains("\n"), "a value holds a line break")
                for item in IniFile.list(entry.value) {
                    FuzzCheck.require(!item.isEmpty && !item.contains(","), "list item \(item) of \(entry.value)")
                }
            }
        }
        let again: IniFile
        do {
            again = try IniFile.parse(written(ini), path: "fuzz.conf", environment: [:])
        } catch {
            fatalError("invariant broken: the written-out file does not parse: \(error)")
        }
        FuzzCheck.require(again.sections.map(\.name) == ini.sections.map(\.name), "section names change when written out")
        for (section, other) in zip(ini.sections, again.sections) {
            FuzzCheck.require(section.entries.map(\.key) == other.entries.map(\.key), "keys of [\(section.name)] change")
            FuzzCheck.require(section.entries.map(\.value) == other.entries.map(\.value), "values of [\(section.name)] change")
        }
        return true
    }

    /// The file as INI text: values quoted, `$` doubled so that nothing expands again.
    static func written(_ ini: IniFile) -> String {
        ini.sections.map { section in
            (["[\(section.name)]"] + section.entries.map { entry in
                "\(entry.key) = \"\(entry.value.replacingOccurrences(of: "$", with: "$$"))\""
            }).joined(separator: "\n")
        }.joined(separator: "\n")
    }
}
