import Crypto
import Foundation
import KychSDJWT
import KychVerifier
import KychVerifierModel

/// A test wallet and credential issuer kept in a folder: the issuer key (`issuer-key.pem`), the
/// holder key (`holder-key.pem`) and the issued credentials (`credentials/NAME.sdjwt`). Keys are
/// created on first use; every file is mode 0600. For development, tests and demos only.
package struct Wallet: Sendable {
    package let directory: URL

    /// Opens the wallet in `directory`, creating the folder (mode 0700) if needed.
    package init(directory: URL) throws {
        self.directory = directory
        try FileManager.default.createDirectory(at: credentialsDirectory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
    }

    var credentialsDirectory: URL { directory.appendingPathComponent("credentials") }

    /// The issuer's signing key.
    package func issuerKey() throws -> P256.Signing.PrivateKey {
        try SigningKeyFile.loadOrCreate(path: directory.appendingPathComponent("issuer-key.pem").path).key
    }

    /// The holder's key: the `cnf` of issued credentials, signing the KB-JWTs.
    package func holderKey() throws -> P256.Signing.PrivateKey {
        try SigningKeyFile.loadOrCreate(path: directory.appendingPathComponent("holder-key.pem").path).key
    }

    /// The issuer's `did:jwk`.
    package func issuerDID() throws -> String {
        DIDJWK.did(for: try issuerKey().publicKey)
    }

    // MARK: credentials

    /// A credential held by the wallet.
    package struct Credential: Sendable {
        package var name: String
        /// The issuance, `<issuer-jwt>~<disclosure>~…~`.
        package var sdJWT: String
        package var vct: String?
    }

    /// Stores an issuance under `name` (letters, digits, `-`, `_`), replacing one of that name.
    package func store(_ sdJWT: String, name: String) throws {
        guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            throw WalletError("a credential name consists of letters, digits, - and _")
        }
        let url = credentialsDirectory.appendingPathComponent(name + ".sdjwt")
        try Data(sdJWT.utf8).write(to: url, options: .atomic)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: url.path)
    }

    /// Every stored credential, by name.
    package func credentials() throws -> [Credential] {
        let files = try FileManager.default.contentsOfDirectory(at: credentialsDirectory, includingPropertiesForKeys: nil)
        return try files.filter { $0.pathExtension == "sdjwt" }.sorted { $0.lastPathComponent < $1.lastPathComponent }.map { url in
            let sdJWT = try String(contentsOf: url, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let claims = try? CompactJWS(parsing: String(sdJWT.prefix { $0 != "~" })).claims()
            return Credential(name: url.deletingPathExtension().lastPathComponent, sdJWT: sdJWT, vct: claims?["vct"]?.stringValue)
        }
    }

    // MARK: issuing

    /// What to issue: a Beta-ID-like SD-JWT VC by default, every claim selectively disclosable.
    package struct Issuance: Sendable {
        package var claims: [String: JSONValue] = BetaID.sampleClaims
        package var vct = BetaID.vct
        /// The issuer JWT's `typ`: `dc+sd-jwt`, the legacy `vc+sd-jwt`, or anything else for tests.
        package var type = "dc+sd-jwt"
        /// The issuer DID; `nil`: the `did:jwk` of the issuer key. The header `kid` is `<DID>#0`.
        package var issuerDID: String?
        /// Seconds from now to `exp`; negative for an already expired credential; `nil`: no `exp`.
        package var validity: TimeInterval?
        /// A status list entry.
        package var status: StatusReference?

        package init() {}
    }

    /// Issues `issuance` to this wallet's holder key and stores it as `name`; returns the SD-JWT.
    @discardableResult
    package func issue(_ issuance: Issuance = Issuance(), name: String = "betaid", now: Date = Date()) throws -> String {
        let key = try issuerKey()
        let sdJWT = try SDJWTIssuer.issue(
            claims: issuance.claims, selectivelyDisclosable: issuance.claims.keys.sorted().map { ClaimPath(stringLiteral: $0) },
            vct: issuance.vct, issuerDID: issuance.issuerDID ?? DIDJWK.did(for: key.publicKey), issuerKey: key,
            holderKey: try holderKey().publicKey, status: issuance.status, iat: now,
            exp: issuance.validity.map { now.addingTimeInterval($0) }, typ: issuance.type, decoyDigests: 2)
        try store(sdJWT, name: name)
        return sdJWT
    }

    /// A status list token for `uri`, signed by the issuer key: `size` entries of 2 bits, all valid
    /// except `revoked` (status 1) and `suspended` (status 2).
    package func statusListToken(uri: String, size: Int = 1024, revoked: [Int] = [], suspended: [Int] = [],
                                now: Date = Date()) throws -> String {
        var values = [Int](repeating: 0, count: size)
        for (indices, value) in [(revoked, 1), (suspended, 2)] {
            for index in indices {
                guard values.indices.contains(index) else { throw WalletError("status index \(index) is outside 0..<\(size)") }
                values[index] = value
            }
        }
        let key = try issuerKey()
        return try StatusList.make(bits: 2, values: values, uri: uri, keyID: DIDJWK.did(for: key.publicKey) + "#0",
                                   signingKey: key, iat: now, exp: now.addingTimeInterval(86_400))
    }
}

/// The Swiss Beta-ID credential as the swiyu cookbook shows it (`swiyu-verifier-api.md` §7).
package enum BetaID {
    package static let vct = "betaid-sdjwt"

    /// The cookbook's sample values; ages and the birth year are strings, as in the sample.
    package static let sampleClaims: [String: JSONValue] = [
        "document_number": "BETA-ID-P5Y700MS",
        "given_name": "Helvetia",
        "family_name": "National",
        "birth_date": "1848-09-12",
        "age_over_16": "true",
        "age_over_18": "true",
        "age_over_65": "true",
        "age_birth_year": "1848",
        "birth_place": "Luzern",
        "place_of_origin": "Altdorf UR",
        "sex": "2",
        "nationality": "CH",
        "portrait": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
        "additional_person_info": "N/A",
        "personal_administrative_number": "756.3658.1881.91",
        "reference_id_type": "Self-Declared",
        "reference_id_expiry_date": "2030-02-17",
        "verification_type": "Self-Service",
        "verification_organization": "Beta Credential Service BCS",
        "issuance_date": "2025-02-17",
        "expiry_date": "2030-02-17",
        "issuing_country": "CH",
        "issuing_authority": "Beta Credential Service BCS",
    ]
}
