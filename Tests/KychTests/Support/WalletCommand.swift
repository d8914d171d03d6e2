import Foundation
import Testing

/// `kych-wallet` on a wallet folder of the test's own that holds a Beta-ID credential from a fresh issuer: the person's
/// wallet in the process tests.
struct WalletCommand {
    let path: String
    let issuerDID: String

    /// Issues the credential into `directory/wallet`.
    init(in directory: URL) async throws {
        path = directory.appendingPathComponent("wallet").path
        let issued = try await Run.program("kych-wallet", ["issue", "--wallet", path])
        try #require(issued.status == 0, "\(issued.stderr)")
        issuerDID = try await Run.program("kych-wallet", ["issuer-did", "--wallet", path]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try #require(issuerDID.hasPrefix("did:jwk:"))
    }

    /// `kych-wallet SUBCOMMAND --wallet PATH ARGUMENTS…`.
    func callAsFunction(_ arguments: [String]) async throws -> ProcessResult {
        try await Run.program("kych-wallet", [arguments[0], "--wallet", path] + arguments.dropFirst())
    }
}
