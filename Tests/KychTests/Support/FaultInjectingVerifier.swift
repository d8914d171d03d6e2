import Foundation
import Hummingbird
import KychCore
import KychOAuth
import KychSwiyuClient
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// A scripted stand-in for a swiyu verifier's management API, kept only for what the built-in verifier
/// (`KychVerifierServer`, swiyu 4.x) cannot be made to do. The project's rule allows a fake verifier in
/// tests only until the built-in one exists; it exists, so every flow a real wallet can drive runs against
/// it (`GatewayHarness.make()`, the default). This stand-in remains for:
/// - the swiyu 2.x wire shape (`VERIFIER_QUERY = presentation_definition`, results without the DCQL
///   credential id), which the built-in verifier does not speak;
/// - a verifier that is down (HTTP 500) and comes back (`setDown`);
/// - a verification the verifier has forgotten (404 before the gateway's own session expires, `expire`);
/// - results no wallet presentation can cause: `FAILED` without an error code, or `FAILED` reported
///   after `SUCCESS` (`succeed`/`fail` set the management result directly).
/// Its results are whatever the test sets, so nothing here checks a presentation: use the built-in
/// verifier and `KychWallet` for anything about real credentials.
final class FaultInjectingVerifier: Sendable {
    enum Shape { case v4, v2 }

    struct Verification {
        var id: String
        var requestNonce: String
        var request: JSON
        var state = "PENDING"
        var subject: JSON?
        var errorCode: String?
        var gone = false
    }

    private let verifications = Mutex<[String: Verification]>([:])
    private let reads = Mutex<[String: Int]>([:])
    private let order = Mutex<[String]>([])
    let shape: Shape
    private let down = Mutex(false)
    private let port = Mutex(0)
    private let task = Mutex<Task<Void, any Error>?>(nil)
    init(shape: Shape = .v4) {
        self.shape = shape
    }

    var baseURL: String { "http://127.0.0.1:\(port.withLock { $0 })" }
    var createdIDs: [String] { order.withLock { $0 } }
    func request(_ id: String) -> JSON? { verifications.withLock { $0[id]?.request } }
    func setDown(_ value: Bool) { down.withLock { $0 = value } }
    /// How often the gateway read the result of `id` (`GET /management/api/verifications/{id}`).
    func lookups(_ id: String) -> Int { reads.withLock { $0[id] ?? 0 } }

    /// Reports SUCCESS with `claims` as the credential subject (no presentation behind it).
    func succeed(_ id: String, claims: [String: JSON], vct: String = "betaid-sdjwt", issuer: String = "did:tdw:trusted") {
        var subject = claims
        subject["vct"] = .string(vct)
        subject["iss"] = .string(issuer)
        subject["iat"] = .integer(1_739_801_909_000)
        verifications.withLock {
            $0[id]?.state = "SUCCESS"
            $0[id]?.subject = .object(subject)
        }
    }

    func fail(_ id: String, code: String?) {
        verifications.withLock {
            $0[id]?.state = "FAILED"
            $0[id]?.errorCode = code
        }
    }

    func expire(_ id: String) { verifications.withLock { $0[id]?.gone = true } }

    func start() async throws {
        let router = Router()
        router.post("/management/api/verifications") { request, _ -> Response in
            if self.down.withLock({ $0 }) { return Self.json(500, ["error_description": "Internal Server Error. Please check again later"]) }
            let body = try await request.body.collect(upTo: 1 << 20)
            let json = try JSON.parse(Data(buffer: body))
            let id = UUID().uuidString.lowercased()
            let v = Verification(id: id, requestNonce: UUID().uuidString.lowercased(), request: json)
            self.verifications.withLock { $0[id] = v }
            self.order.withLock { $0.append(id) }
            return Self.json(200, self.describe(v))
        }
        router.get("/management/api/verifications/:id") { _, context -> Response in
            if self.down.withLock({ $0 }) { return Self.json(500, [:]) }
            let id = try context.parameters.require("id")
            self.reads.withLock { $0[id, default: 0] += 1 }
            guard let v = self.verifications.withLock({ $0[id] }), !v.gone else {
                return Self.json(404, ["detail": .string("The verification with the identifier '\(id)' was not found")])
            }
            return Self.json(200, self.describe(v))
        }
        let ready = AsyncStream<Int>.makeStream()
        var app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in ready.continuation.yield(channel.localAddress?.port ?? 0) },
                              logger: Logger(label: "fault-injecting-verifier", factory: { _ in SwiftLogNoOpLogHandler() }))
        app.logger.logLevel = .critical
        let running = Task { try await app.runService(gracefulShutdownSignals: []) }
        task.withLock { $0 = running }
        for await p in ready.stream {
            port.withLock { $0 = p }
            break
        }
    }

    func stop() { task.withLock { $0?.cancel() } }

    private func describe(_ v: Verification) -> [String: JSON] {
        let url = "\(baseURL)/oid4vp/api/request-object/\(v.id)"
        var out: [String: JSON] = [
            "id": .string(v.id), "request_nonce": .string(v.requestNonce), "state": .string(v.state),
            "verification_url": .string(url),
            "verification_deeplink": .string("swiyu-verify://?client_id=decentralized_identifier%3Adid%3Ajwk%3Atest&request_uri="
                + (url.addingPercentEncoding(withAllowedCharacters: .urlUnreserved) ?? url)),
        ]
        if v.state != "PENDING" {
            var data: JSON = .null
            if let subject = v.subject {
                data = shape == .v4 ? .object([VerificationRequestBuilder.credentialID: .array([subject])]) : subject
            }
            out["wallet_response"] = .object([
                "error_code": v.errorCode.map(JSON.string) ?? .null,
                "error_description": v.errorCode == nil ? .null : .string("Verification failed"),
                "credential_subject_data": data,
            ])
        }
        return out
    }

    private static func json(_ status: Int, _ body: [String: JSON]) -> Response {
        Response(status: .init(code: status), headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(string: JSON.object(body).serialized())))
    }
}

