import ArgumentParser
import Foundation
import KychCore
import KychSDJWT
import KychVerifierModel
import KychWallet

/// `kych-wallet`: a test wallet and Beta-ID-like credential issuer for KyCH (development, tests, demos).
@main
struct WalletCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kych-wallet",
        abstract: "A test wallet and issuer speaking OpenID4VP to swiyu-compatible verifiers (for tests and demos only).",
        subcommands: [Issue.self, IssuerDID.self, StatusListCommand.self, Present.self, PresentAtToken.self, Receive.self])
}

/// `--wallet DIR`, shared by every subcommand.
struct WalletOption: ParsableArguments {
    @Option(help: "Wallet folder (keys and credentials). Default: $KYCH_WALLET_DIR, else ~/.kych-wallet.")
    var wallet: String?

    func open() throws -> Wallet {
        let path = wallet ?? ProcessInfo.processInfo.environment["KYCH_WALLET_DIR"]
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".kych-wallet").path
        return try Wallet(directory: URL(fileURLWithPath: path))
    }
}

struct Issue: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Issue a Beta-ID-like SD-JWT VC (every claim selectively disclosable) to the wallet's holder key.")

    @OptionGroup var options: WalletOption
    @Option(help: "Name to store the credential under.") var name = "betaid"
    @Option(help: "The credential type (vct).") var vct = BetaID.vct
    @Option(help: "The issuer JWT typ (dc+sd-jwt, vc+sd-jwt; anything else makes an invalid credential).") var typ = "dc+sd-jwt"
    @Option(help: "Issuer DID written into iss and kid (default: the did:jwk of the wallet's issuer key).") var issuerDID: String?
    @Option(help: "Validity in seconds (sets exp).") var expiresIn: Int?
    @Flag(help: "Issue an already expired credential (exp one hour ago).") var expired = false
    @Option(help: "Status list URI for a status entry (with --status-index).") var statusURI: String?
    @Option(help: "Index of the credential in the status list.") var statusIndex: Int?
    @Option(name: .customLong("without"), help: "Leave out this claim (repeatable).") var omitted: [String] = []
    @Option(name: .customLong("claim"), help: "Set a string claim, NAME=VALUE (repeatable).") var extraClaims: [String] = []
    @Flag(help: "An organisation credential (for present-at-token): no personal sample claims, only --claim ones; vct OrganisationCredential unless --vct says otherwise.")
    var organisation = false

    func run() throws {
        let wallet = try options.open()
        var issuance = Wallet.Issuance()
        issuance.vct = organisation && vct == BetaID.vct ? "OrganisationCredential" : vct
        if organisation { issuance.claims = [:] }
        issuance.type = typ
        issuance.issuerDID = issuerDID
        issuance.validity = expired ? -3600 : expiresIn.map(TimeInterval.init)
        switch (statusURI, statusIndex) {
        case (let uri?, let index?): issuance.status = StatusReference(uri: uri, index: index)
        case (nil, nil): break
        default: throw ValidationError("--status-uri and --status-index go together")
        }
        for claim in omitted {
            guard issuance.claims.removeValue(forKey: claim) != nil else { throw ValidationError("there is no claim \(claim) to leave out") }
        }
        for assignment in extraClaims {
            guard let equals = assignment.firstIndex(of: "="), equals != assignment.startIndex else {
                throw ValidationError("--claim takes NAME=VALUE")
            }
            issuance.claims[String(assignment[..<equals])] = .string(String(assignment[assignment.index(after: equals)...]))
        }
        try wallet.issue(issuance, name: name)
        print("Issued \(name) (vct \(issuance.vct), \(issuance.claims.count) claims) into \(wallet.directory.path)")
    }
}

struct IssuerDID: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "issuer-did", abstract: "Print the issuer's did:jwk.")

    @OptionGroup var options: WalletOption

    func run() throws {
        print(try options.open().issuerDID())
    }
}

struct StatusListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status-list", abstract: "Print a status list token signed by the issuer key (serve it at --uri).")

    @OptionGroup var options: WalletOption
    @Option(help: "The URI the token will be served at (its sub).") var uri: String
    @Option(help: "Number of entries.") var size = 1024
    @Option(help: "Mark this index revoked (repeatable).") var revoke: [Int] = []
    @Option(help: "Mark this index suspended (repeatable).") var suspend: [Int] = []

    func run() throws {
        print(try options.open().statusListToken(uri: uri, size: size, revoked: revoke, suspended: suspend))
    }
}

struct Present: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Answer a verifier's request (swiyu-verify:// deeplink or request URI): disclose exactly what it asks for.")

    @OptionGroup var options: WalletOption
    @Argument(help: "The deeplink (swiyu-verify://?client_id=…&request_uri=…) or the request URI.") var request: String
    @Option(help: "Present this stored credential (default: a KyCH attestation when the verifier accepts one and the wallet holds it, else the first of a requested type).")
    var credential: String?
    @Flag(help: "Decline: send error=access_denied.") var decline = false
    @Flag(help: "Fault: a wrong KB-JWT nonce.") var wrongNonce = false
    @Flag(help: "Fault: the KB-JWT aud is the bare DID.") var wrongAud = false
    @Flag(help: "Fault: replace a disclosure by a forged one.") var tamperDisclosure = false
    @Flag(help: "Fault: a KB-JWT signed an hour ago.") var staleProof = false
    @Flag(help: "Fault: no KB-JWT.") var noKeyBinding = false
    @Flag(help: "Fault: an empty disclosure (~~).") var brokenSyntax = false
    @Flag(help: "Fault: an issuer signature that does not verify.") var badSignature = false

    func run() async throws {
        let wallet = try options.open()
        let authorization = try await PresentationRequest.fetch(request)
        print("Verifier: \(authorization.clientName ?? "(no name)") \(authorization.clientID)")
        for query in authorization.query.credentials {
            let claims = query.requestedClaimNames.sorted().joined(separator: ", ")
            print("Asks for \(query.id) (\(query.vctValues.joined(separator: " or "))): \(claims.isEmpty ? "no claims" : claims)")
        }
        let reply: VerifierReply
        if decline {
            reply = try await Wallet.decline(authorization)
        } else {
            var faults: PresentationFaults = []
            for (flag, fault) in [(wrongNonce, PresentationFaults.wrongNonce), (wrongAud, .wrongAudience),
                                  (tamperDisclosure, .tamperedDisclosure), (staleProof, .staleProof),
                                  (noKeyBinding, .noKeyBinding), (brokenSyntax, .brokenSyntax), (badSignature, .badSignature)]
            where flag { faults.insert(fault) }
            reply = try await wallet.present(authorization, credential: credential, faults: faults)
        }
        guard reply.accepted else {
            let code = reply.body.objectValue?["error_code"]?.stringValue ?? reply.body.objectValue?["error"]?.stringValue ?? "error"
            let text = reply.body.objectValue?["error_description"]?.stringValue ?? ""
            CLISupport.printError("The verifier answered HTTP \(reply.status): \(code) \(text)")
            throw ExitCode(2)
        }
        print(decline ? "Declined." : "Presented.")
    }
}

struct Receive: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Receive a KyCH attestation by OpenID4VCI (authorization code flow, PKCE), presenting the Beta-ID on the way.")

    @OptionGroup var options: WalletOption
    @Option(help: "The credential issuer: the KyCH instance's BASE_URL.") var issuer: String
    @Option(help: "The wallet's client id at the KyCH instance (a public client).") var clientID: String
    @Option(help: "The client's registered redirect URI (the code is read from the redirect, which is not followed).")
    var redirectURI: String
    @Option(help: "The credential configuration to ask for.") var configuration = "kych_attestation"
    @Option(help: "Present this stored credential at the verification step (default: the first of a requested type).")
    var present: String?
    @Option(help: "Name to store the credential under.") var name = Wallet.attestationName

    func run() async throws {
        let wallet = try options.open()
        let issued = try await wallet.receive(issuer: issuer, clientID: clientID, redirectURI: redirectURI,
                                              configuration: configuration, presenting: present, name: name)
        let claims = try? CompactJWS(parsing: String(issued.prefix { $0 != "~" })).claims()
        print("Received \(name) (vct \(claims?["vct"]?.stringValue ?? "?"), issuer \(claims?["iss"]?.stringValue ?? "?")) into \(wallet.directory.path)")
    }
}

struct PresentAtToken: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "present-at-token",
        abstract: "Present an organisation credential at a KyCH gateway's /token (grant_type=vp_token-bearer) and print the token response.")

    @OptionGroup var options: WalletOption
    @Option(help: "The gateway's base URL (its issuer identifier, BASE_URL).") var gateway: String
    @Option(help: "The client id (its GRANT_TYPES must include vp_token-bearer).") var clientID: String
    @Option(help: "The client secret (sent as client_secret_post). Default: $KYCH_CLIENT_SECRET.") var clientSecret: String?
    @Option(help: "The scope to request: a [scope_NAME] of the gateway (several separated by spaces).") var scope: String
    @Option(help: "The stored credential to present.") var credential = "organisation"

    func run() async throws {
        guard let secret = clientSecret ?? ProcessInfo.processInfo.environment["KYCH_CLIENT_SECRET"] else {
            throw ValidationError("--client-secret or $KYCH_CLIENT_SECRET is required")
        }
        let reply = try await options.open().requestToken(gateway: gateway, clientID: clientID, clientSecret: secret, scope: scope,
                                                          credential: credential)
        print(String(decoding: JSONText.serialize(reply.body), as: UTF8.self))
        guard reply.status == 200 else {
            CLISupport.printError("The gateway answered HTTP \(reply.status)")
            throw ExitCode(2)
        }
    }
}
