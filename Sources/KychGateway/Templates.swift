import Mustache

/// The page templates, compiled into the binary so an installed gateway needs no template files.
/// Mustache HTML-escapes every `{{value}}`; the only unescaped value (`{{{.}}}`) is the QR code's SVG, which KyCH
/// generates itself. Every page extends `layout`, which holds the style sheet; the style and the one script carry
/// the per-response CSP nonce.
enum Templates {
    enum Name: String {
        case verification, message
    }

    /// Renders `model` (a struct; Mustache reads its properties by name) with the template `name`.
    static func render(_ name: Name, _ model: Any) -> String {
        library.render(model, withTemplate: name.rawValue) ?? ""
    }

    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        for (name, text) in [("layout", layout), (Name.verification.rawValue, verification), (Name.message.rawValue, message)] {
            do {
                try library.register(text, named: name)
            } catch {
                preconditionFailure("the built-in template \(name) does not parse: \(error)")
            }
        }
        return library
    }()

    static let layout = """
        <!DOCTYPE html>
        <html lang="{{page.lang}}">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="referrer" content="no-referrer">
        {{#page.noscriptRefresh}}<noscript><meta http-equiv="refresh" content="{{.}}"></noscript>{{/page.noscriptRefresh}}
        <title>{{page.title}} – KyCH</title>
        <style nonce="{{page.nonce}}">
        :root{color-scheme:light;--fg:#1b1f24;--muted:#4b5563;--line:#d0d7de;--bg:#eef2f6;--accent:#0b57d0;--accent-dark:#0842a0;--ok:#146c2e;--bad:#b3261e}
        *{box-sizing:border-box}
        [hidden]{display:none!important}
        html{-webkit-text-size-adjust:100%}
        body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
        .bar,main{max-width:60rem;margin:0 auto}
        .bar{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;justify-content:space-between;padding:.75rem 1rem}
        .brand{font-weight:700;font-size:1.125rem}
        .brand span{font-weight:400;color:var(--muted);font-size:.9375rem;margin-left:.5rem}
        .langs{display:flex;gap:.25rem}
        .langs a{display:inline-block;min-width:2.75rem;padding:.375rem .5rem;border-radius:.375rem;text-align:center;color:var(--accent-dark);font-weight:600;text-decoration:none}
        .langs a:hover,.langs a:focus-visible{background:#dde6f3}
        .langs a[aria-current]{background:var(--fg);color:#fff}
        main{background:#fff;border:1px solid var(--line);border-radius:.75rem;padding:1.5rem 1.25rem 2rem;margin-bottom:2rem}
        h1{font-size:1.625rem;line-height:1.25;margin:0 0 .5rem}
        h2{font-size:1rem;margin:0 0 .5rem}
        p{margin:.5rem 0}
        a{color:var(--accent-dark)}
        a:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
        .client{font-size:1.125rem;word-break:break-all}
        .grid{display:grid;gap:1.5rem;margin-top:1.25rem}
        .scan{display:flex;flex-direction:column;align-items:center;text-align:center}
        .qr{margin:0;width:100%;max-width:19rem}
        .qr svg{display:block;width:100%;height:auto;border:1px solid var(--line);border-radius:.5rem}
        .qr figcaption,.hint{color:var(--muted);font-size:.9375rem}
        .open{width:100%;max-width:19rem;margin-top:1.25rem}
        .button{display:block;padding:.875rem 1.25rem;border-radius:.5rem;background:var(--accent);color:#fff;font-weight:600;text-align:center;text-decoration:none}
        .button:hover{background:var(--accent-dark)}
        .button.secondary{background:#fff;color:var(--accent-dark);border:2px solid var(--accent)}
        .claims{margin:0 0 1rem;padding:0;list-style:none;border:1px solid var(--line);border-radius:.5rem}
        .claims li{padding:.5rem .875rem;border-top:1px solid var(--line)}
        .claims li:first-child{border-top:0}
        .timer{font-variant-numeric:tabular-nums}
        .status{display:flex;gap:.625rem;align-items:flex-start;padding:.75rem .875rem;border-radius:.5rem;background:#f1f4f8;font-weight:600}
        .status::before{content:"";flex:none;width:.75rem;height:.75rem;margin-top:.375rem;border-radius:50%;background:var(--accent);animation:pulse 1.4s ease-in-out infinite}
        .status.done::before{background:var(--ok);animation:none}
        .status.ended::before{background:var(--bad);animation:none}
        @keyframes pulse{50%{opacity:.25}}
        @media (prefers-reduced-motion:reduce){.status::before{animation:none}}
        .icon{width:3rem;height:3rem;border-radius:50%;display:flex;align-items:center;justify-content:center;font-size:1.75rem;font-weight:700;color:#fff;background:var(--bad);margin-bottom:1rem}
        .icon.ok{background:var(--ok)}
        .message .button{display:inline-block;margin-top:.5rem}
        details{margin-top:1.5rem;color:var(--muted);font-size:.875rem}
        summary{cursor:pointer}
        @media (max-width:40rem){.open{order:-1;max-width:none;margin:0 0 1rem}main{border-radius:0;border-left:0;border-right:0}}
        @media (min-width:48rem){main{padding:2rem 2.5rem 2.5rem}.grid{grid-template-columns:minmax(0,19rem) minmax(0,1fr);gap:2.5rem;align-items:start}}
        </style>
        </head>
        <body>
        <header class="bar"><div class="brand">KyCH<span>{{page.tagline}}</span></div>
        <nav class="langs" aria-label="{{page.languageLabel}}">{{#page.languages}}<a href="{{href}}" lang="{{code}}" hreflang="{{code}}" title="{{name}}" aria-label="{{name}}"{{#current}} aria-current="true"{{/current}}>{{label}}</a>{{/page.languages}}</nav>
        </header>
        <main>
        {{$content}}{{/content}}
        </main>
        </body>
        </html>

        """

    /// The verification page. Its script reads everything it needs (URLs, texts) from `data-` attributes, so the
    /// script itself is constant and contains no request data.
    static let verification = """
        {{<layout}}{{$content}}
        <h1>{{t.verifyTitle}}</h1>
        <p>{{t.requestedBy}} <strong class="client">{{client}}</strong></p>
        {{^offerShown}}<div class="grid" id="verification">
        <section class="scan">
        {{#qr}}<figure class="qr">{{{.}}}<figcaption>{{t.scanHint}}</figcaption></figure>{{/qr}}
        {{#deeplink}}<div class="open"><a class="button" id="open-wallet" href="{{.}}">{{t.openWallet}}</a><p class="hint">{{t.sameDeviceHint}}</p></div>{{/deeplink}}
        {{#demoWalletURL}}<div class="open"><a class="button secondary" id="demo-wallet" href="{{.}}">{{t.useDemoWallet}}</a><p class="hint">{{t.demoWalletHint}}</p></div>{{/demoWalletURL}}
        </section>
        <section>
        <h2>{{t.claimsHeading}}</h2>
        <ul class="claims" id="claims">{{#claims}}<li>{{.}}</li>{{/claims}}</ul>
        <p class="timer">{{t.timeLeft}} <strong id="time-left">{{timeLeft}}</strong></p>
        <p id="status" class="status{{#ready}} done{{/ready}}" role="status" aria-live="polite" data-status-url="{{statusURL}}" data-finalize-url="{{finalizeURL}}" data-seconds-left="{{secondsLeft}}" data-verified="{{t.verified}}" data-failed="{{t.failed}}" data-expired="{{t.expired}}" data-completed="{{t.completed}}" data-retrying="{{t.retrying}}" data-waiting="{{t.waiting}}" data-unavailable="{{t.statusUnavailable}}">{{statusText}}</p>
        <noscript><p><a class="button secondary" id="continue" href="{{finalizeURL}}">{{t.continueLink}}</a></p><p class="hint">{{t.noScriptHint}}</p></noscript>
        </section>
        </div>{{/offerShown}}
        {{#offer}}<div class="grid" id="attestation-offer"{{^shown}} hidden{{/shown}}>
        <section class="scan">
        <h2>{{t.offerTitle}}</h2>
        <p>{{t.offerText}}</p>
        {{#qr}}<figure class="qr">{{{.}}}</figure>{{/qr}}
        {{#link}}<div class="open"><a class="button secondary" id="add-to-wallet" href="{{.}}">{{t.addToWallet}}</a></div>{{/link}}
        </section>
        <section>
        <h2>{{t.claimsHeading}}</h2>
        <ul class="claims">{{#claims}}<li>{{.}}</li>{{/claims}}</ul>
        <p><a class="button" id="continue-to-service" href="{{finalizeURL}}">{{t.continueToService}}</a></p>
        </section>
        </div>{{/offer}}
        {{^offerShown}}<script nonce="{{page.nonce}}">
        (function () {
          "use strict";
          var line = document.getElementById("status"), d = line.dataset, clock = document.getElementById("time-left");
          var deadline = Date.now() + Number(d.secondsLeft) * 1000, delay = 1000;
          // After "Use the demo wallet" that link's answer goes to /finalize itself: a second visit would find the code spent.
          var handedOver = false, demo = document.getElementById("demo-wallet");
          var page = document.getElementById("verification"), offer = document.getElementById("attestation-offer");
          if (demo) { demo.addEventListener("click", function () { handedOver = true; }); }
          function show(text, cls) { line.textContent = text; line.className = "status" + (cls ? " " + cls : ""); }
          function tick() {
            var s = Math.max(0, Math.round((deadline - Date.now()) / 1000));
            clock.textContent = Math.floor(s / 60) + ":" + ("0" + (s % 60)).slice(-2);
            if (s > 0) { setTimeout(tick, 1000); }
          }
          function poll() {
            fetch(d.statusUrl, {headers: {"Accept": "application/json"}, cache: "no-store", credentials: "same-origin"})
              .then(function (r) {
                if (r.status >= 400 && r.status < 500) { show(d.unavailable, "ended"); return null; }
                if (!r.ok) { throw new Error("HTTP " + r.status); }
                return r.json();
              })
              .then(function (j) {
                if (!j) { return; }
                delay = 1000;
                if (j.status === "verified" || j.status === "failed") {
                  show(j.status === "verified" ? d.verified : d.failed, j.status === "verified" ? "done" : "ended");
                  // A page that offers the attestation shows it instead, and the person goes on with its link.
                  if (j.status === "verified" && offer && !handedOver) { page.hidden = true; offer.hidden = false; return; }
                  if (!handedOver) { window.top.location.assign(d.finalizeUrl); }
                } else if (j.status === "expired") { show(d.expired, "ended"); }
                else if (j.status === "completed") { show(d.completed, "done"); }
                else { show(d.waiting); setTimeout(poll, 250); }
              })
              .catch(function () { show(d.retrying); setTimeout(poll, delay); delay = Math.min(delay * 2, 30000); });
          }
          tick();
          poll();
        })();
        </script>{{/offerShown}}
        {{/content}}{{/layout}}
        """

    /// A short message page: the error pages and the "verification complete" page.
    static let message = """
        {{<layout}}{{$content}}
        <div class="message">
        <div class="icon{{#success}} ok{{/success}}" aria-hidden="true">{{#success}}✓{{/success}}{{^success}}!{{/success}}</div>
        <h1>{{title}}</h1>
        {{#paragraphs}}<p>{{.}}</p>{{/paragraphs}}
        {{#retry}}<p><a class="button" href="{{.}}">{{t.tryAgain}}</a></p>{{/retry}}
        {{#detail}}<details><summary>{{t.technicalDetails}}</summary><p>{{.}}</p></details>{{/detail}}
        </div>
        {{/content}}{{/layout}}
        """
}
