import ArgumentParser
import Foundation
import Hummingbird
import KychCore
import KychVerifierServer
import Logging

/// `kych-verifier`: KyCH's built-in swiyu-compatible OpenID4VP verifier.
@main
struct VerifierCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kych-verifier",
        abstract: "KyCH's built-in OpenID4VP verifier, speaking the swiyu Generic Verifier 4.x API.")

    @Option(name: [.short, .long], help: "Configuration file (section [kych-verifier]).")
    var config: String = GatewayConfig.defaultPath
    @Flag(help: "Only load and validate the configuration, then exit.")
    var checkConfig = false
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() async throws {
        let verifierConfig = try CLISupport.loadVerifierConfig(config)
        let advice = Self.notices(verifierConfig) + (verifierConfig.binding?.securityAdvice ?? [])
        if checkConfig {
            for notice in advice { CLISupport.printError("warning: \(notice)") }
            print("Configuration \(config) is valid.")
            return
        }
        guard let binding = verifierConfig.binding else {
            throw CLIError("[kych-verifier] is EMBEDDED = yes: kych-oauth2-gateway serves it; set HOST/PORT or UNIXPATH to run it alone")
        }
        RedactingLogHandler.bootstrap(format: verifierConfig.logFormat)
        var logger = Logger(label: "kych-verifier")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        for notice in advice { logger.warning("\(notice)") }
        let app = try await buildVerifierApplication(verifierConfig, logger: logger)
        try await binding.serve { try await app.runService() }
    }

    /// What an operator should know about a configuration that is valid.
    static func notices(_ config: VerifierConfig) -> [String] {
        guard !config.embedded, config.keyEncryptionSecret == nil else { return [] }
        return ["KEY_ENCRYPTION_SECRET is not set in [kych-verifier]: the private response-encryption keys are stored unencrypted in the database"]
    }
}
