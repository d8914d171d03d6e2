import Foundation

/// A command-line failure with an operator-facing message (no stack, no secrets).
public struct CLIError: Error, CustomStringConvertible {
    public var description: String
    public init(_ message: String) { description = message }
}

/// Helpers shared by KyCH's command-line programs.
public enum CLISupport {
    /// Loads and validates the configuration; warnings go to standard error, errors become a ``CLIError``
    /// listing each problem with its file, line and key.
    public static func loadConfig(_ path: String) throws -> GatewayConfig {
        do {
            let config = try GatewayConfig.load(path: path)
            for warning in config.warnings { printError("warning: \(warning)") }
            return config
        } catch {
            throw CLIError("invalid configuration:\n" + error.errors.map { "  \($0)" }.joined(separator: "\n"))
        }
    }

    /// Writes one line to standard error.
    public static func printError(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
