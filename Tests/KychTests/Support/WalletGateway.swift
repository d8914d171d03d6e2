import Foundation
import Testing

/// A real `kych-oauth2-gateway` process with its embedded verifier on SQLite (or a given database), and a `kych-wallet` holding a Beta-ID
/// credential whose issuer the clients accept: what the relying-party tests log in against. Set up with the
/// operator's commands (`kych-dbinit`, `kych-client-management sync`).
struct WalletGateway {
    let process: GatewayProcess
    /// The gateway's plain HTTP port on 127.0.0.1.
    let port: Int
    let wallet: String
    let issuerDID: String
    /// The embedded verifier's `MANAGEMENT_BEARER_TOKEN`.
    let managementToken: String
    /// The gateway's `DATABASE`, and its settings and clients after `PORT` (for ``secondInstance()``).
    let database: String
    let settings: String

    /// `clients` returns the `[client_*]` sections, given the settings every client needs to use the embedded verifier;
    /// `mainSettings` go into `[kych-oauth2-gateway]` (e.g. a `BASE_URL` behind a proxy); `database`: a `DATABASE` to use
    /// instead of a fresh SQLite file (e.g. a ``TestDatabase``'s, without schema: `kych-dbinit` installs it).
    static func start(mainSettings: String = "", database: String? = nil,
                      clients: (_ verifierSettings: String) -> String) async throws -> WalletGateway {
        let directory = try VerifierTestConfig.temporaryDirectory()
        let walletCommand = try await WalletCommand(in: directory)
        let wallet = walletCommand.path, issuerDID = walletCommand.issuerDID

        let port = TestPorts.next(), baseURL = "http://127.0.0.1:\(port)"
        let token = "secret-token:rp-management-\(UUID().uuidString)"
        let verifierSettings = """
            VERIFIER_URL = \(baseURL)
            VERIFIER_BEARER_TOKEN = \(token)
            ACCEPTED_ISSUER_DIDS = {\(issuerDID)}
            WEBHOOK_API_KEY_HEADER = \(VerifierTestConfig.webhookHeader)
            WEBHOOK_API_KEY_VALUE = \(VerifierTestConfig.webhookKey)
            """
        let database = database ?? "sqlite://" + directory.appendingPathComponent("kych.db").path
        let settings = """
            \(mainSettings)

            \(clients(verifierSettings))
            """
        let config = try temporaryFile("""
            [kych-oauth2-gateway]
            HOST = 127.0.0.1
            PORT = \(port)
            DATABASE = \(database)
            \(settings)

            \(VerifierTestConfig.embeddedVerifierSection(baseURL: baseURL, directory: directory, token: token))
            """)
        let dbinit = try await Run.program("kych-dbinit", ["-c", config])
        try #require(dbinit.status == 0, "\(dbinit.stderr)")
        let sync = try await Run.program("kych-client-management", ["-c", config, "sync"])
        try #require(sync.status == 0 && sync.stdout.contains("Sync complete"), "\(sync.stdout) \(sync.stderr)")
        return WalletGateway(process: try await GatewayProcess(configPath: config, baseURL: baseURL), port: port, wallet: wallet,
                             issuerDID: issuerDID, managementToken: token, database: database, settings: settings)
    }

    /// Another gateway process on the same database with the same `BASE_URL` (two instances behind one name), without
    /// the embedded verifier: where a replayed proof or code arrives. The caller terminates it.
    func secondInstance() async throws -> GatewayProcess {
        let port = TestPorts.next()
        let config = try temporaryFile("""
            [kych-oauth2-gateway]
            HOST = 127.0.0.1
            PORT = \(port)
            DATABASE = \(database)
            BASE_URL = \(process.baseURL)
            \(settings)
            """)
        return try await GatewayProcess(configPath: config, baseURL: "http://127.0.0.1:\(port)")
    }

    /// The path of the `kych-wallet` binary, for the relying-party scripts.
    static var walletBinary: String { TestEnvironment.binDirectory.appendingPathComponent("kych-wallet").path }
}
