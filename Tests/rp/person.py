"""The person's side of a KyCH flow for the relying-party tests: a browser (a requests.Session) and the
`kych-wallet` presenting the Beta-ID credential. Shared by authlib_flow.py and idpyoidc_flow.py; test tooling only.
"""
import ipaddress
import subprocess
import time


class FlowFailure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise FlowFailure(message)


def is_loopback(host):
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def treat_loopback_as_secure_context(jar):
    """Browsers treat http://127.0.0.1 as a secure context (W3C Secure Contexts) and send `Secure` cookies
    there; Python's cookie jar never sends them over http (and requests merges into a fresh jar per request,
    dropping any custom policy), so KyCH's `Secure` browser-binding cookie would not come back to /finalize."""
    for cookie in jar:
        if cookie.secure and is_loopback(cookie.domain):
            cookie.secure = False


def present_with_wallet(wallet_bin, wallet_dir, deeplink):
    result = subprocess.run([wallet_bin, "present", "--wallet", wallet_dir, deeplink],
                            capture_output=True, text=True, timeout=120)
    check(result.returncode == 0 and "Presented." in result.stdout,
          f"kych-wallet present exited {result.returncode}: {result.stdout.strip()} {result.stderr.strip()}")


def wait_until_verified(browser, base_url, verification_id, state):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        reply = browser.get(f"{base_url}/status/{verification_id}", params={"state": state, "timeout_ms": 2000}, timeout=30)
        check(reply.status_code == 200, f"GET /status: HTTP {reply.status_code} {reply.text[:300]}")
        status = reply.json().get("status")
        if status == "verified":
            return
        check(status in ("pending", "authorized"), f"the verification ended as {status!r}")
    raise FlowFailure("the verification was not verified within 60 s")
