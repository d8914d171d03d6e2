import Foundation

/// A command-line failure with an operator-facing message (no stack, no secrets).
package struct CLIError: Error, CustomStringConvertible {
    package var description: String
    package init(_ message: String) { description = message }
}

/// Helpers shared by KyCH's command-line programs.
package enum CLISupport {
    /// Loads and validates the configuration (with its `[kych-verifier]` section, if any); warnings go to standard
    /// error, errors become a ``CLIError`` listing each problem with its file, line and key.
    package static func loadConfig(_ path: String) throws -> GatewayConfig {
        try gatewayConfig(try loadFile(path))
    }

    /// Reads and parses the configuration file, once per process: each section's validation takes the result.
    package static func loadFile(_ path: String) throws -> IniFile {
        do { return try IniFile.load(path: path) } catch { throw CLIError("invalid configuration:\n  \(error)") }
    }

    /// Validates the gateway's configuration in `ini`, reporting as ``loadConfig(_:)`` does.
    package static func gatewayConfig(_ ini: IniFile) throws -> GatewayConfig {
        try reporting({ () throws(ConfigErrors) in try GatewayConfig.validate(ini) }, warnings: \.warnings)
    }

    /// Prints the warnings of a validated configuration, or turns its errors into one ``CLIError``.
    static func reporting<Config>(_ validate: () throws(ConfigErrors) -> Config, warnings: KeyPath<Config, [ConfigError]>) throws -> Config {
        do {
            let config = try validate()
            for warning in config[keyPath: warnings] { printError("warning: \(warning)") }
            return config
        } catch {
            throw CLIError("invalid configuration:\n" + error.errors.map { "  \($0)" }.joined(separator: "\n"))
        }
    }

    /// Writes one line to standard error.
    package static func printError(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
