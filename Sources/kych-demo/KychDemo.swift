import ArgumentParser
import Foundation
import Hummingbird
import KychCore
import KychOAuth
import KychGateway
import KychStorage
import Logging
import ServiceLifecycle

/// `kych-demo`: the whole KyCH flow on one machine with nothing to set up. One process runs the
/// gateway on SQLite (a file in a fresh temporary folder) with the built-in verifier embedded and the
/// demo wallet switched on, a registered demo client, and that client's small web site.
@main
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kych-demo",
        abstract: "Run the KyCH demo: gateway, built-in verifier, demo wallet and a demo client site, on 127.0.0.1.",
        discussion: "Open the printed URL and click \"Verify my identity\". Ctrl-C (or SIGTERM) stops everything "
            + "and deletes the demo's temporary folder.")

    @Flag(help: "Run one complete verification by itself (through the demo wallet), print the claims the demo client received, and exit.")
    var headless = false
    @Option(help: "Port of the KyCH gateway (and its built-in verifier) on 127.0.0.1.")
    var port = 8080
    @Option(help: "Port of the demo client site on 127.0.0.1.")
    var sitePort = 8081
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (default: notice; warning with --headless).")
    var logLevel: String?

    /// How long requests under way may take to finish once the demo is told to stop.
    static let shutdownGrace: Duration = .seconds(5)

    func validate() throws {
        for value in [port, sitePort] where !(1...65535).contains(value) {
            throw ValidationError("\(value) is not a port number (1-65535)")
        }
        if port == sitePort { throw ValidationError("--port and --site-port must differ") }
        if let logLevel, Logger.Level(rawValue: logLevel) == nil { throw ValidationError("unknown log level \(logLevel)") }
    }

    func run() async throws {
        RedactingLogHandler.bootstrap(format: .text)
        var logger = Logger(label: "kych-demo")
        logger.logLevel = logLevel.flatMap(Logger.Level.init(rawValue:)) ?? (headless ? .warning : .notice)

        let setup = try DemoSetup(port: port, sitePort: sitePort)
        defer { setup.remove() }
        let config = try CLISupport.loadConfig(setup.configFile.path)
        let stores = try await Stores.open(config.database, sealing: config.sealing, logger: logger)
        _ = try await stores.clients.syncClients(config.clients.map { Client(config: $0) }, prune: false)
        let gateway = try await buildApplication(config, stores: stores, logger: logger, offersDemoWallet: config.demoWallet != nil) { router, flow in
            guard let directory = config.demoWallet else { return }
            try DemoWalletRoutes(directory: directory, flow: flow, logger: logger).register(on: router)
        }
        let site = DemoSite(setup: setup, logger: logger).application()
        let driver = DemoDriver(setup: setup, headless: headless)

        var group = ServiceGroupConfiguration(
            services: [
                .init(service: gateway), .init(service: site),
                .init(service: driver, successTerminationBehavior: .gracefullyShutdownGroup,
                      failureTerminationBehavior: .gracefullyShutdownGroup),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // The gateway lets requests under way finish, and a KyCH page left open keeps one long poll waiting.
        group.maximumGracefulShutdownDuration = Self.shutdownGrace
        do {
            try await ServiceGroup(configuration: group).run()
        } catch is CancellationError {
            // The grace period was over: whatever was still running has been cancelled.
        } catch let error as DemoError {
            throw CLIError(error.description)
        } catch {
            throw CLIError("\(error) (are ports \(port) and \(sitePort) free? --port and --site-port choose others)")
        }
    }
}

/// A demo step that did not go as expected; the text says which.
struct DemoError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Waits until the gateway and the site answer, then either tells the person where to go and waits
/// for the shutdown, or (headless) runs one flow, prints the claims and returns, which ends the demo.
struct DemoDriver: Service {
    let setup: DemoSetup
    let headless: Bool

    func run() async throws {
        for url in [setup.gatewayURL + "/health", setup.siteURL + "/"] { try await DemoHTTP.waitUntilAnswering(url) }
        if headless {
            var flow = HeadlessFlow(setup: setup)
            let claims = try await flow.run()
            Self.say("The demo client received these verified claims:\n" + DemoHTTP.pretty(claims))
            return
        }
        Self.say("""
            KyCH demo running. Open \(setup.siteURL)/ and click "Verify my identity".
              (gateway with the built-in verifier and the demo wallet: \(setup.gatewayURL); configuration and SQLite
               database in \(setup.directory.path), deleted on exit)
            Ctrl-C stops it.
            """)
        try? await gracefulShutdown()
        Self.say("Stopping (requests under way get up to \(DemoCommand.shutdownGrace.components.seconds) s to finish)…")
    }

    /// Writes a line to standard output at once (it may be a pipe).
    static func say(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }
}
