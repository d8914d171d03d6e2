import Foundation
import Hummingbird
import KychCore
import KychGateway
import KychOAuth
import KychVerifierModel
import KychWallet
import Logging

/// `DEMO_WALLET`: the verification page's "Use the demo wallet" link, so a demo needs no phone.
/// `GET /demo-wallet/{verification_id}?state=…` does what a person's wallet would (`KychWallet`):
/// fetches the verification's request object, presents the test wallet's Beta-ID credential (issued
/// on first start), then waits for KyCH to see the result and sends the browser on to `/finalize`.
/// Served by kych-demo only (through `buildApplication`'s `extraRoutes`), so no production executable links
/// the test wallet.
struct DemoWalletRoutes: Sendable {
    let wallet: Wallet
    let flow: AuthorizationServer
    let logger: Logger
    /// How long to wait for the verifier's result before moving on to `/finalize`.
    var resultTimeout: Duration = .seconds(20)

    /// Opens (creating if needed) the wallet in `directory` and issues its credential if it holds none.
    init(directory: String, flow: AuthorizationServer, logger: Logger) throws {
        wallet = try Wallet(directory: URL(fileURLWithPath: directory))
        if try wallet.credentials().isEmpty { try wallet.issue() }
        self.flow = flow
        self.logger = logger
        let issuer = try wallet.issuerDID()
        logger.warning("DEMO_WALLET is set: the verification page offers a test wallet (demos and development only)",
                       metadata: ["issuer_did": "\(issuer)"])
    }

    func register(on router: Router<GatewayRequestContext>) {
        router.get(RouterPath(stringLiteral: DemoWalletLink.path + "/:verification_id"), use: present)
    }

    @Sendable func present(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let id = try context.parameters.require("verification_id")
        let state = try request.formQuery()["state"]
        guard let session = try await flow.store.session(verificationID: id), let verification = session.verification,
              state == session.state else {
            throw FlowError.page(status: 404, kind: .unknownVerification, message: "This verification is unknown.")
        }
        if session.effectiveStatus(now: Date()) == .authorized {
            do {
                let reply = try await wallet.present(try await PresentationRequest.fetch(verification.deeplink))
                logger.info("demo wallet presented", metadata: ["verification_id": "\(id)", "http_status": "\(reply.status)"])
            } catch {
                logger.warning("demo wallet could not present", metadata: ["verification_id": "\(id)", "error": "\(error)"])
                throw FlowError.page(status: 502, kind: .verifierDown,
                                     message: "The demo wallet could not reach the verifier.")
            }
            _ = try await flow.status(verificationID: id, state: state, timeout: resultTimeout)
        }
        let location = DemoWalletLink.finalizeURL(verificationID: id, state: session.state, request: request)
        return Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }
}
