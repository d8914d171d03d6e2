import Foundation
import KychOutboundHTTP
import KychCore
import KychOAuth
import KychSDJWT
import KychVerifier
import KychVerifierModel
import Testing

/// The verifier's small pure parts: did:web URLs, the loopback rule, form encoding, DCQL.
@Suite struct VerifierUnitTests {
    @Test func didWebMapsToItsDocumentURL() throws {
        let cases = [
            ("did:web:example.com", "https://example.com/.well-known/did.json"),
            ("did:web:example.com:user:alice", "https://example.com/user/alice/did.json"),
            ("did:web:example.com%3A8443", "https://example.com:8443/.well-known/did.json"),
            ("did:web:127.0.0.1%3A8080:issuer", "http://127.0.0.1:8080/issuer/did.json"),
            ("did:web:localhost%3A9000", "http://localhost:9000/.well-known/did.json"),
        ]
        for (did, url) in cases {
            #expect(try DIDWebResolver.documentURL(for: did).absoluteString == url)
        }
        for bad in ["did:jwk:abc", "did:web:", "did:web:example.com::x", "did:web:a%2Fb"] {
            #expect(throws: DIDResolutionError.self) { try DIDWebResolver.documentURL(for: bad) }
        }
    }

    @Test func plainHTTPOnlyToLoopbackHosts() {
        for (url, allowed) in [("https://registry.example.ch/list.jwt", true), ("http://127.0.0.1:8080/x", true),
                               ("http://localhost/x", true), ("http://[::1]:80/x", true), ("http://127.1.2.3/x", true),
                               ("http://registry.example.ch/x", false), ("http://10.0.0.1/x", false),
                               ("http://127.0.0.1.example.com/x", false), ("ftp://127.0.0.1/x", false), ("file:///etc/passwd", false)] {
            #expect(OutboundHTTP.isFetchable(URL(string: url)!) == allowed, "\(url)")
        }
    }

    @Test func formEncodingRoundTrips() {
        let fields = [("vp_token", #"{"kych":["eyJ.a~b~"]}"#), ("state", "a b&c=d+e/é")]
        let body = FormURLEncoding.encode(fields)
        #expect(!body.contains(" ") && !body.contains("{") && body.contains("state=a+b%26c%3Dd%2Be%2F%C3%A9"))
        #expect(FormURLEncoding.decode(body) == Dictionary(uniqueKeysWithValues: fields))
        #expect(FormURLEncoding.decode("a=1&a=2&b") == ["a": "1", "b": ""])
        #expect(FormURLEncoding.decode("a=%ZZ") == nil)
    }

    /// The byte-wise unescaping answers what Foundation's `replacingOccurrences` + `removingPercentEncoding` did
    /// (the fuzz target `form` compares the two on every input too), but refuses all invalid UTF-8 alike: Foundation
    /// refused a truncated sequence and replaced a lone continuation byte by U+FFFD.
    @Test func formUnescapingAnswersAsFoundationDid() {
        let table = ["", "a+b", "%2B", "%2b+%20", "%C3%A9", "é raw", "%00", "%", "%4", "%4G", "%%41", "%e9", "%C3", "%F0%9F%98%80",
                     "a%2", "+%2B+", "%ED%A0%80", "%FF", "%41%42%43", "~!*()'"]
        for text in table {
            #expect(FormURLEncoding.unescape(text) == text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding, "\(text)")
        }
        #expect(FormURLEncoding.unescape("%C3%A9+x") == "é x")
        #expect(FormURLEncoding.unescape("%e9") == nil && FormURLEncoding.unescape("%4") == nil)
        #expect(FormURLEncoding.unescape("a%A9") == nil && "a%A9".removingPercentEncoding == "a\u{FFFD}")
    }

    /// The byte-wise escaping writes what Foundation's `addingPercentEncoding` + `replacingOccurrences` did.
    @Test func formEscapingAnswersAsFoundationDid() {
        let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789*-._ ")
        for text in ["", "a b", "a+b&c=d", "é ß 😀", "~!'()%/?#[]@$,;:", "\u{0}\u{7F}\u{80}", "eyJhbGciOiJFQ0RILUVTIn0..x.y.z", "\t\r\n"] {
            let foundation = text.addingPercentEncoding(withAllowedCharacters: unreserved)?.replacingOccurrences(of: " ", with: "+")
            #expect(FormURLEncoding.escape(text) == foundation, "\(text)")
            #expect(FormURLEncoding.unescape(FormURLEncoding.escape(text)) == text)
        }
    }

    @Test func dcqlQueriesKeepWhatTheyAskFor() throws {
        let json: JSONValue = ["credentials": [[
            "id": "kych", "format": "dc+sd-jwt", "meta": ["vct_values": ["betaid-sdjwt"]],
            "claims": [["path": ["given_name"]], ["path": ["address", "street"]], ["path": ["nationalities", nil]],
                       ["path": ["age_over_18"], "values": [true, "true"]]],
        ]]]
        let query = try DCQLQuery(json: json)
        let credential = try #require(query.credentials.first)
        #expect(credential.requireCryptographicHolderBinding)
        #expect(credential.requestedClaimNames == ["given_name", "address", "street", "nationalities", "age_over_18"])
        #expect(try DCQLQuery(json: query.json) == query)
        #expect(query.json.objectValue?["credentials"]?.arrayValue?.first?.objectValue?["require_cryptographic_holder_binding"] == true)
    }
}
