import Foundation
import KychCore

/// `--headless`: one complete flow over HTTP, as a browser clicking through the demo would do it:
/// the site's "Verify my identity" → the KyCH page → its "Use the demo wallet" link → `/finalize` →
/// the site's callback, which redeems the code and reads `/info`. Returns the claims the site received.
struct HeadlessFlow {
    let setup: DemoSetup
    /// The browser's cookies (name → value); the demo's hosts are all 127.0.0.1.
    private var cookies: [String: String] = [:]

    init(setup: DemoSetup) {
        self.setup = setup
    }

    mutating func run() async throws -> JSON {
        let start = try await get(setup.siteURL + "/start", expecting: 302)
        let page = try await get(try location(start, from: setup.siteURL), expecting: 200)
        guard let link = Self.demoWalletLink(in: page.body) else { throw DemoError("the KyCH page offers no demo wallet link") }
        let presented = try await get(setup.gatewayURL + link, expecting: 303)
        let finalized = try await get(try location(presented, from: setup.gatewayURL), expecting: 302)
        let result = try await get(try location(finalized, from: setup.gatewayURL), expecting: 200, accept: "application/json")
        guard let claims = result.json["claims"], claims.objectValue != nil else {
            throw DemoError("the demo site received no claims: \(result.body)")
        }
        return claims
    }

    private mutating func get(_ url: String, expecting status: Int, accept: String = "text/html") async throws -> DemoHTTP.Reply {
        var headers = [("Accept", accept)]
        if !cookies.isEmpty { headers.append(("Cookie", cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; "))) }
        let reply = try await DemoHTTP.send(url, headers: headers)
        for header in reply.headers["Set-Cookie"] {
            let pair = header.prefix { $0 != ";" }.split(separator: "=", maxSplits: 1)
            if pair.count == 2 { cookies[String(pair[0])] = String(pair[1]) }
        }
        guard reply.status == status else {
            throw DemoError("GET \(URL(string: url)?.path ?? url) answered HTTP \(reply.status), expected \(status): \(reply.body.prefix(300))")
        }
        return reply
    }

    private func location(_ reply: DemoHTTP.Reply, from base: String) throws -> String {
        guard let value = reply.headers.first(name: "Location"), let url = URL(string: value, relativeTo: URL(string: base)) else {
            throw DemoError("a redirect without a Location")
        }
        return url.absoluteString
    }

    /// The `href` of the page's `id="demo-wallet"` link, HTML entities decoded.
    static func demoWalletLink(in html: String) -> String? {
        guard let anchor = html.range(of: #"<a [^>]*id="demo-wallet"[^>]*>"#, options: .regularExpression),
              let href = html[anchor].range(of: #"href="[^"]*""#, options: .regularExpression) else { return nil }
        var value = String(html[anchor][href].dropFirst(6).dropLast())
        for (entity, character) in [("&quot;", "\""), ("&#39;", "'"), ("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&")] {
            value = value.replacingOccurrences(of: entity, with: character)
        }
        return value
    }
}
