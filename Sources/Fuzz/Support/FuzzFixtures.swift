import Crypto
import Foundation
import KychSDJWT

/// Fixed keys and a fixed clock, so that committed seeds signed or encrypted with them stay valid inputs:
/// a fuzz input can carry a real signature only if it was made with these keys.
package enum FuzzFixtures {
    /// The credential and status-list issuer (`did:jwk`).
    package static let issuerKey = signingKey("issuer")
    /// The holder: the credential's `cnf` key, which signs the KB-JWT.
    package static let holderKey = signingKey("holder")
    /// The verifier's `direct_post.jwt` response key.
    package static let responseKey = try! P256.KeyAgreement.PrivateKey(rawRepresentation: scalar("response"))
    package static let responseKeyID = "fuzz-response-key"
    package static let issuerDID = DIDJWK.did(for: issuerKey.publicKey)
    /// The verifier's `client_id`, the KB-JWT `aud`.
    package static let clientID = "decentralized_identifier:did:example:fuzz-verifier"
    package static let nonce = "fuzz-nonce"
    package static let state = "fuzz-state"
    package static let vct = "betaid-sdjwt"
    package static let statusListURI = "https://status.example/list/1"
    /// "Now" for every check with a clock: seeds are issued at this instant.
    package static let now = Date(timeIntervalSince1970: 1_800_000_000)

    /// A deterministic P-256 scalar (SHA-256 of a label; valid with overwhelming probability, checked on use).
    private static func scalar(_ label: String) -> Data {
        Data(SHA256.hash(data: Data("kych-fuzz \(label)".utf8)))
    }

    private static func signingKey(_ label: String) -> P256.Signing.PrivateKey {
        try! P256.Signing.PrivateKey(rawRepresentation: scalar(label))
    }
}

/// Runs async code to completion from the synchronous fuzz entry.
package func runBlocking<T: Sendable>(_ operation: @escaping @Sendable () async -> T) -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        box.value = await operation()
        done.signal()
    }
    done.wait()
    return box.value!
}

/// Carries the result out of the task; the semaphore orders the write before the read.
private final class ResultBox<T>: @unchecked Sendable {
    var value: T?
}
