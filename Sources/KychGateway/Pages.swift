import Foundation
import HTTPTypes
import Hummingbird
import KychCore
import KychQR

/// Server-rendered HTML pages. Every user-supplied value is escaped.
enum Pages {
    static func verification(_ a: VerificationFlow.Authorization) -> Response {
        let qr = (try? QRCode(text: a.verification.deeplink).svg(moduleSize: 5, label: "QR code for the swiyu wallet")) ?? ""
        let id = a.verification.id.urlPathSafe
        let state = a.session.state.map { "?state=" + ($0.addingPercentEncoding(withAllowedCharacters: .urlUnreserved) ?? "") } ?? ""
        let claims = (a.session.scope ?? []).map { "<li>\(escape($0))</li>" }.joined()
        let nonce = Secrets.randomToken(bytes: 16)
        let body = """
            <h1>Verify your identity</h1>
            <p><strong>\(escape(a.client.clientID))</strong> asks you to share these details from your swiyu wallet:</p>
            <ul>\(claims)</ul>
            <div class="qr">\(qr)</div>
            <p><a class="button" href="\(escape(a.verification.deeplink))">Open in swiyu wallet</a></p>
            <p id="status" role="status">Waiting for your wallet…</p>
            <noscript><p><a href="/finalize/\(id)\(escape(state))">Continue once you have confirmed in your wallet</a></p></noscript>
            <script nonce="\(nonce)">
            (function () {
              var statusURL = "/status/\(id)\(jsEscape(state))", finalizeURL = "/finalize/\(id)\(jsEscape(state))";
              function poll() {
                var sep = statusURL.indexOf("?") < 0 ? "?" : "&";
                fetch(statusURL + sep + "timeout_ms=20000", {headers: {"Accept": "application/json"}})
                  .then(function (r) { return r.json(); })
                  .then(function (j) {
                    if (j.status === "verified" || j.status === "failed") { window.top.location.href = finalizeURL; }
                    else if (j.status === "expired" || j.status === "completed") { document.getElementById("status").textContent = "This verification has ended."; }
                    else { setTimeout(poll, 500); }
                  })
                  .catch(function () { setTimeout(poll, 3000); });
              }
              poll();
            })();
            </script>
            """
        return page(status: .ok, title: "Verify your identity", body: body, scriptNonce: nonce)
    }

    static func error(status: HTTPResponse.Status, title: String, message: String) -> Response {
        page(status: status, title: title, body: "<h1>\(escape(title))</h1><p>\(escape(message))</p>", scriptNonce: nil)
    }

    static func page(status: HTTPResponse.Status, title: String, body: String, scriptNonce: String?) -> Response {
        let html = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(title)) – KyCH</title>
            <style nonce="\(scriptNonce ?? "s")">body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}
            .qr svg{max-width:100%;height:auto}.button{display:inline-block;padding:.75rem 1.25rem;background:#0b57d0;color:#fff;border-radius:.5rem;text-decoration:none}</style>
            </head><body>\(body)</body></html>
            """
        let csp = "default-src 'none'; script-src 'nonce-\(scriptNonce ?? "none")'; style-src 'nonce-\(scriptNonce ?? "s")'; img-src data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
        return Response(status: status, headers: [
            .contentType: "text/html; charset=utf-8", .cacheControl: "no-store", .contentSecurityPolicy: csp,
            .xFrameOptions: "DENY", .referrerPolicy: "no-referrer",
        ], body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    /// Escapes for a double-quoted JavaScript string inside a script element.
    static func jsEscape(_ s: String) -> String {
        s.unicodeScalars.map { c in
            switch c {
            case "\"", "\\", "<", ">", "&", "'": String(format: "\\u%04x", c.value)
            default: c.value < 0x20 ? String(format: "\\u%04x", c.value) : String(c)
            }
        }.joined()
    }
}

extension HTTPField.Name {
    static let xFrameOptions = Self("X-Frame-Options")!
    static let referrerPolicy = Self("Referrer-Policy")!
}
