import Foundation
import KychCore
import KychWallet

/// The demo's temporary folder (mode 0700): its configuration file, SQLite database, verifier key and
/// wallet, with fresh random secrets. ``remove()`` deletes it all.
struct DemoSetup: Sendable {
    static let clientID = "demo"

    let directory: URL
    let port: Int
    let sitePort: Int
    let clientSecret = "secret-token:" + Secrets.randomToken(bytes: 24)

    var gatewayURL: String { "http://127.0.0.1:\(port)" }
    var siteURL: String { "http://127.0.0.1:\(sitePort)" }
    var redirectURI: String { siteURL + "/callback" }
    var configFile: URL { directory.appendingPathComponent("kych.conf") }

    /// Creates the folder and writes the configuration: the gateway on SQLite with `DEMO_WALLET`, the demo
    /// client (trusting the demo wallet's issuer), and the built-in verifier served by the gateway.
    init(port: Int, sitePort: Int) throws {
        self.port = port
        self.sitePort = sitePort
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("kych-demo-\(UUID().uuidString.lowercased())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        do {
            let walletDirectory = directory.appendingPathComponent("wallet")
            let issuer = try Wallet(directory: walletDirectory).issuerDID()
            try Data(configuration(wallet: walletDirectory.path, issuer: issuer).utf8).write(to: configFile)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: configFile.path)
        } catch {
            remove()
            throw error
        }
    }

    private func configuration(wallet: String, issuer: String) -> String {
        let management = "secret-token:" + Secrets.randomToken(bytes: 24)
        let webhook = "secret-token:" + Secrets.randomToken(bytes: 24)
        return """
            # Written by kych-demo; deleted when it stops.
            [kych-oauth2-gateway]
            HOST = 127.0.0.1
            PORT = \(port)
            DATABASE = sqlite://\(directory.appendingPathComponent("kych.db").path)
            VC_CLAIMS = {given_name, family_name, birth_date, age_over_18, nationality}
            DEMO_WALLET = \(wallet)

            [client_demo]
            CLIENT_ID = \(Self.clientID)
            CLIENT_SECRET = \(clientSecret)
            VERIFIER_URL = \(gatewayURL)
            VERIFIER_BEARER_TOKEN = \(management)
            REDIRECT_URI = \(redirectURI)
            ACCEPTED_ISSUER_DIDS = {\(issuer)}
            WEBHOOK_API_KEY_HEADER = X-Api-Key
            WEBHOOK_API_KEY_VALUE = \(webhook)

            [kych-verifier]
            EMBEDDED = yes
            EXTERNAL_URL = \(gatewayURL)
            SIGNING_KEY_FILE = \(directory.appendingPathComponent("verifier-key.pem").path)
            WEBHOOK_CALLBACK_URI = \(gatewayURL)/notification
            WEBHOOK_API_KEY_HEADER = X-Api-Key
            WEBHOOK_API_KEY_VALUE = \(webhook)
            WEBHOOK_INTERVAL = 200
            MANAGEMENT_BEARER_TOKEN = \(management)

            """
    }

    /// Deletes the folder and everything in it.
    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}
