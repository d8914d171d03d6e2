import ArgumentParser
import Foundation
import Hummingbird
import KychCore
import KychGateway
import Logging

/// `kych-oauth2-gateway`: the KyCH HTTP server.
@main
struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kych-oauth2-gateway",
        abstract: "KyCH: OAuth 2.0 gateway for identity verification with swiyu wallets.")

    @Option(name: [.short, .long], help: "Configuration file.")
    var config: String = GatewayConfig.defaultPath
    @Flag(help: "Only load and validate the configuration, then exit.")
    var checkConfig = false
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() async throws {
        let gatewayConfig = try CLISupport.loadConfig(config)
        if checkConfig {
            for notice in Self.notices(gatewayConfig) { CLISupport.printError("warning: \(notice)") }
            print("Configuration \(config) is valid.")
            return
        }
        RedactingLogHandler.bootstrap(format: gatewayConfig.logFormat)
        var logger = Logger(label: "kych-oauth2-gateway")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        for notice in Self.notices(gatewayConfig) { logger.warning("\(notice)") }
        let app = try await buildApplication(gatewayConfig, logger: logger)
        try await gatewayConfig.binding.serve { try await app.runService() }
    }

    /// Settings this program reads but does not act on, or misses, so an operator is not misled by them, and those
    /// the OAuth security guidance would have stricter (``GatewayConfig/securityAdvice``).
    static func notices(_ config: GatewayConfig) -> [String] {
        var notices = config.securityAdvice
        if config.baseURL == nil {
            notices.append("BASE_URL is not set and the gateway does not listen on a loopback host: features that need its public URL (the OAuth issuer identifier) will not work until BASE_URL is set")
        }
        if config.keyEncryptionSecret == nil {
            let verifierKeys = config.verifier?.embedded == true ? ", and the embedded verifier's response-encryption keys" : ""
            notices.append("KEY_ENCRYPTION_SECRET is not set: the private signing keys, the clients' verifier bearer tokens and webhook keys\(verifierKeys) are stored unencrypted in the database")
        }
        if config.demoWallet != nil {
            notices.append("DEMO_WALLET is ignored: only kych-demo serves the demo wallet (the production gateway does not link it)")
        }
        return notices
    }
}
