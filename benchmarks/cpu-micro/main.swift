import Foundation
import OldJOSE
import NewJOSE

// ns per operation of base64url and JSON (parse and serialize) before (OldJOSE) and after (NewJOSE);
// see measure.sh. Inputs are the shapes on a flow's hot path: digests and keys, a request object, an SD-JWT payload.

/// The best of `runs` short runs: on a shared machine the shortest run is the one nothing preempted.
func nanoseconds(_ iterations: Int, runs: Int = 50, _ body: () -> Int) -> Double {
    var sink = 0
    for _ in 0..<(iterations / 10) { sink &+= body() }
    var best = Double.infinity
    for _ in 0..<runs {
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<iterations { sink &+= body() }
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / Double(iterations))
    }
    if sink == 42 { print("") }
    return best
}

func row(_ name: String, _ iterations: Int, runs: Int = 50, old: () -> Int, new: () -> Int) {
    let before = nanoseconds(iterations, runs: runs, old), after = nanoseconds(iterations, runs: runs, new)
    print(String(format: "| %@ | %.0f | %.0f | %.1f× |", name, before, after, before / after))
}

let jwk = #"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#
let digests = (0..<12).map { #""\#(String(repeating: "d", count: 10))\#($0)XyZ0123456789abcdefABCDEF-_0123456789ab""# }
let sdJWTPayload = Data(#"""
{"iss":"did:jwk:eyJrdHkiOiJFQyIsImNydiI6IlAtMjU2In0","iat":1764131200,"exp":1795667200,"vct":"betaid-sdjwt",
 "_sd_alg":"sha-256","_sd":[\#(digests.joined(separator: ","))],"cnf":{"jwk":\#(jwk)},
 "status":{"status_list":{"idx":4711,"uri":"https://issuer.example.com/status/1"}},"nbf":1764131200}
"""#.utf8)
let requestObject = Data(#"""
{"response_type":"vp_token","response_mode":"direct_post.jwt","client_id":"x509_san_dns:verifier.example.com",
 "response_uri":"https://verifier.example.com/oid4vp/api/request-object/3f1c2a9e/response-data",
 "nonce":"bSt0nAB8SYFK1sv1c7aQkQ","state":"a8f1c2d3-4e5f-6789-abcd-ef0123456789","iat":1764131200,"exp":1764131500,
 "dcql_query":{"credentials":[{"id":"betaid","format":"dc+sd-jwt","meta":{"vct_values":["betaid-sdjwt"]},
   "claims":[{"path":["family_name"]},{"path":["given_name"]},{"path":["birth_date"]},{"path":["age_over_18"]}]}]},
 "client_metadata":{"jwks":{"keys":[\#(jwk)]},"encrypted_response_enc_values_supported":["A128GCM"],
   "vp_formats_supported":{"dc+sd-jwt":{"sd-jwt_alg_values":["ES256"],"kb-jwt_alg_values":["ES256"]}},
   "client_name":"KyCH \u00e9 verifier"}}
"""#.utf8)

let digest = Data((0..<32).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) })
let kilobyte = Data((0..<1024).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) })
let digestText = NewJOSE.Base64URL.encode(digest), kilobyteText = NewJOSE.Base64URL.encode(kilobyte)
precondition(OldJOSE.Base64URL.encode(kilobyte) == kilobyteText)
let oldRequest = try OldJOSE.JSONText.parse(requestObject), newRequest = try NewJOSE.JSONText.parse(requestObject)
let oldPayload = try OldJOSE.JSONText.parse(sdJWTPayload), newPayload = try NewJOSE.JSONText.parse(sdJWTPayload)
precondition(OldJOSE.JSONText.serialize(oldRequest) == NewJOSE.JSONText.serialize(newRequest))
precondition(OldJOSE.JSONText.serialize(oldPayload) == NewJOSE.JSONText.serialize(newPayload))

print("| operation | before ns | after ns | speed-up |")
print("|---|---|---|---|")
row("base64url encode 32 B", 2_000, old: { OldJOSE.Base64URL.encode(digest).utf8.count }, new: { NewJOSE.Base64URL.encode(digest).utf8.count })
row("base64url decode 32 B", 2_000, old: { OldJOSE.Base64URL.decode(digestText)?.count ?? 0 }, new: { NewJOSE.Base64URL.decode(digestText)?.count ?? 0 })
row("base64url encode 1 KiB", 500, old: { OldJOSE.Base64URL.encode(kilobyte).utf8.count }, new: { NewJOSE.Base64URL.encode(kilobyte).utf8.count })
row("base64url decode 1 KiB", 500, old: { OldJOSE.Base64URL.decode(kilobyteText)?.count ?? 0 }, new: { NewJOSE.Base64URL.decode(kilobyteText)?.count ?? 0 })
row("JSON parse request object (\(requestObject.count) B)", 200, old: { (try? OldJOSE.JSONText.parse(requestObject)) == nil ? 0 : 1 }, new: { (try? NewJOSE.JSONText.parse(requestObject)) == nil ? 0 : 1 })
row("JSON parse SD-JWT payload (\(sdJWTPayload.count) B)", 200, old: { (try? OldJOSE.JSONText.parse(sdJWTPayload)) == nil ? 0 : 1 }, new: { (try? NewJOSE.JSONText.parse(sdJWTPayload)) == nil ? 0 : 1 })
row("JSON serialize request object", 200, old: { OldJOSE.JSONText.serialize(oldRequest).count }, new: { NewJOSE.JSONText.serialize(newRequest).count })
row("JSON serialize SD-JWT payload", 200, old: { OldJOSE.JSONText.serialize(oldPayload).count }, new: { NewJOSE.JSONText.serialize(newPayload).count })
let nested = Data((String(repeating: "[", count: 512) + String(repeating: "]", count: 512)).utf8)
row("JSON parse 512 nested arrays (1 KiB)", 1, runs: 1, old: { (try? OldJOSE.JSONText.parse(nested)) == nil ? 0 : 1 }, new: { (try? NewJOSE.JSONText.parse(nested)) == nil ? 0 : 1 })
