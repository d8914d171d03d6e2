#!/usr/bin/env python3
"""An independent DPoP client (RFC 9449; PyPI joserfc for keys and proofs, requests for HTTP, no KyCH code).

For a client with REQUIRE_DPOP it runs KyCH's flow with PKCE and `dpop_jkt`, then tries /token with proofs
that must be refused (none, another key, HS256, a private key in `jwk`, another URL, another method, an old
`iat`) before redeeming the code with a good proof; it then tries /info with the bound token as Bearer, without
`ath`, with another key's proof and with a proof for another URL, reads /info with a fresh proof, replays that
proof to a SECOND gateway instance on the same database and to the first, and introspects the token with a proof.
For a client with REQUIRE_DPOP_NONCE it runs the `use_dpop_nonce` round trip at /token and at /info.

Prints one JSON report (every answer's status and error code) on stdout; the Swift test judges the refusals. On a
failure of the flow itself prints the reason on stderr and exits 1. The client secret comes from
$KYCH_RP_CLIENT_SECRET.

    KYCH_RP_CLIENT_SECRET=… dpop_flow.py --base-url http://127.0.0.1:8080 --second-url http://127.0.0.1:8081 \\
        --client-id dpop --nonce-client-id dpop-nonce --redirect-uri https://rp.example/cb \\
        --wallet-bin .build/debug/kych-wallet --wallet DIR
"""

import argparse
import base64
import hashlib
import json
import os
import secrets
import sys
import time
from urllib.parse import parse_qs, urlsplit

import requests
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from person import (FlowFailure, check, present_with_wallet, treat_loopback_as_secure_context,  # noqa: E402
                    wait_until_verified)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class DPoPKey:
    """A P-256 key and the proofs it signs (RFC 9449 §4.2)."""

    def __init__(self):
        self.key = ECKey.generate_key("P-256")
        self.jkt = self.key.thumbprint()

    def proof(self, method, url, access_token=None, nonce=None, iat=None, jwk=None):
        claims = {"jti": secrets.token_urlsafe(16), "htm": method, "htu": url, "iat": int(iat if iat is not None else time.time())}
        if access_token is not None:
            claims["ath"] = b64url(hashlib.sha256(access_token.encode()).digest())
        if nonce is not None:
            claims["nonce"] = nonce
        header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk or self.key.as_dict(private=False)}
        return jwt.encode(header, claims, self.key)


def hs256_proof(method, url):
    """A proof with a symmetric alg, which RFC 9449 §4.3 forbids."""
    key = OctKey.import_key(secrets.token_bytes(32))
    claims = {"jti": secrets.token_urlsafe(16), "htm": method, "htu": url, "iat": int(time.time())}
    return jwt.encode({"typ": "dpop+jwt", "alg": "HS256", "jwk": {"kty": "oct", "k": b64url(b"public?")}}, claims, key)


def answer(reply):
    """What the report keeps of an answer: status, error code, challenge, whether a DPoP-Nonce came with it."""
    try:
        body = reply.json()
    except ValueError:
        body = {}
    return {"status": reply.status_code, "error": body.get("error") if isinstance(body, dict) else None,
            "www_authenticate": reply.headers.get("WWW-Authenticate"), "dpop_nonce": reply.headers.get("DPoP-Nonce")}


def verified_code(args, base_url, client_id, extra):
    """The person's part: /authorize (PKCE and `extra`), the wallet, /finalize; returns (code, code_verifier)."""
    verifier = secrets.token_urlsafe(48)
    challenge = b64url(hashlib.sha256(verifier.encode()).digest())
    state = secrets.token_urlsafe(24)
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": args.redirect_uri, "scope": "given_name age_over_18",
              "state": state, "code_challenge": challenge, "code_challenge_method": "S256", **extra}
    browser = requests.Session()
    reply = browser.get(f"{base_url}/authorize", params=params, headers={"Accept": "application/json"}, timeout=30)
    check(reply.status_code == 200, f"GET /authorize: HTTP {reply.status_code} {reply.text[:300]}")
    started = reply.json()
    treat_loopback_as_secure_context(browser.cookies)
    present_with_wallet(args.wallet_bin, args.wallet, started["verification_deeplink"])
    wait_until_verified(browser, base_url, started["verification_id"], state)
    reply = browser.get(f"{base_url}/finalize/{started['verification_id']}", params={"state": state}, allow_redirects=False, timeout=30)
    check(reply.status_code in (302, 303), f"GET /finalize: HTTP {reply.status_code} {reply.text[:300]}")
    response = parse_qs(urlsplit(reply.headers.get("Location", "")).query)
    check("code" in response, f"no code in the redirect: {response}")
    return response["code"][0], verifier


def token_request(base_url, client_id, secret, code, verifier, redirect_uri, proof):
    headers = {"DPoP": proof} if proof else {}
    return requests.post(f"{base_url}/token", auth=(client_id, secret), headers=headers, timeout=30,
                         data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "code_verifier": verifier})


def info(url, scheme, access_token, proof=None):
    headers = {"Authorization": f"{scheme} {access_token}"}
    if proof:
        headers["DPoP"] = proof
    return requests.get(url, headers=headers, timeout=30)


def run(args):
    base_url, second_url = args.base_url.rstrip("/"), args.second_url.rstrip("/")
    secret = os.environ["KYCH_RP_CLIENT_SECRET"]
    report = {}
    reply = requests.get(f"{base_url}/.well-known/oauth-authorization-server", timeout=10)
    check(reply.status_code == 200, f"metadata: HTTP {reply.status_code}")
    report["dpop_signing_alg_values_supported"] = reply.json().get("dpop_signing_alg_values_supported")
    token_url, info_url = f"{base_url}/token", f"{base_url}/info"

    # A client with REQUIRE_DPOP, its key named at /authorize (dpop_jkt).
    key, other = DPoPKey(), DPoPKey()
    code, verifier = verified_code(args, base_url, args.client_id, {"dpop_jkt": key.jkt})
    private_jwk = key.key.as_dict(private=True)
    refusals = {
        "no proof": None,
        "another key than dpop_jkt": other.proof("POST", token_url),
        "HS256": hs256_proof("POST", token_url),
        "private key in jwk": key.proof("POST", token_url, jwk=private_jwk),
        "another URL": key.proof("POST", info_url),
        "another method": key.proof("GET", token_url),
        "old iat": key.proof("POST", token_url, iat=time.time() - 300),
    }
    report["token_refusals"] = {name: answer(token_request(base_url, args.client_id, secret, code, verifier, args.redirect_uri, proof))
                                for name, proof in refusals.items()}
    reply = token_request(base_url, args.client_id, secret, code, verifier, args.redirect_uri, key.proof("POST", token_url))
    check(reply.status_code == 200, f"POST /token with a good proof: HTTP {reply.status_code} {reply.text[:300]}")
    token = reply.json()
    report["token_type"] = token.get("token_type")
    access_token = token["access_token"]

    report["info_refusals"] = {
        "bound token as Bearer": answer(info(info_url, "Bearer", access_token)),
        "bound token as Bearer with a proof": answer(info(info_url, "Bearer", access_token, key.proof("GET", info_url, access_token))),
        "no ath": answer(info(info_url, "DPoP", access_token, key.proof("GET", info_url))),
        "another key": answer(info(info_url, "DPoP", access_token, other.proof("GET", info_url, access_token))),
        "another URL": answer(info(info_url, "DPoP", access_token, key.proof("GET", f"{base_url}/userinfo", access_token))),
        "another method": answer(info(info_url, "DPoP", access_token, key.proof("POST", info_url, access_token))),
        "old iat": answer(info(info_url, "DPoP", access_token, key.proof("GET", info_url, access_token, iat=time.time() - 300))),
    }
    fresh = key.proof("GET", info_url, access_token)
    reply = info(info_url, "DPoP", access_token, fresh)
    check(reply.status_code == 200, f"GET /info with a fresh proof: HTTP {reply.status_code} {reply.text[:300]}")
    report["info"] = reply.json()
    # The same proof again: at the second instance (same database, same BASE_URL behind one name), then at the first.
    report["replay_at_second_instance"] = answer(info(f"{second_url}/info", "DPoP", access_token, fresh))
    report["replay_at_first_instance"] = answer(info(info_url, "DPoP", access_token, fresh))
    report["fresh_proof_at_second_instance"] = answer(info(f"{second_url}/info", "DPoP", access_token,
                                                           key.proof("GET", info_url, access_token)))

    introspect_url = f"{base_url}/introspect"
    reply = requests.post(introspect_url, auth=(args.client_id, secret), headers={"DPoP": key.proof("POST", introspect_url)},
                          data={"token": access_token}, timeout=30)
    check(reply.status_code == 200, f"POST /introspect: HTTP {reply.status_code} {reply.text[:300]}")
    report["introspection"] = reply.json()
    report["jkt"] = key.jkt

    # A client with REQUIRE_DPOP_NONCE: use_dpop_nonce, then the proof with the server's nonce.
    nonce_key = DPoPKey()
    code, verifier = verified_code(args, base_url, args.nonce_client_id, {})
    first = token_request(base_url, args.nonce_client_id, secret, code, verifier, args.redirect_uri, nonce_key.proof("POST", token_url))
    report["nonce_token_first"] = answer(first)
    nonce = first.headers.get("DPoP-Nonce")
    check(nonce, "use_dpop_nonce came without a DPoP-Nonce header")
    reply = token_request(base_url, args.nonce_client_id, secret, code, verifier, args.redirect_uri,
                          nonce_key.proof("POST", token_url, nonce=nonce))
    report["nonce_token_retry"] = answer(reply)
    check(reply.status_code == 200, f"POST /token with the nonce: HTTP {reply.status_code} {reply.text[:300]}")
    access_token = reply.json()["access_token"]
    nonce = reply.headers.get("DPoP-Nonce") or nonce
    first = info(info_url, "DPoP", access_token, nonce_key.proof("GET", info_url, access_token))
    report["nonce_info_first"] = answer(first)
    retry = info(info_url, "DPoP", access_token, nonce_key.proof("GET", info_url, access_token, nonce=first.headers.get("DPoP-Nonce")))
    report["nonce_info_retry"] = answer(retry)
    return report


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", required=True, help="the gateway's issuer identifier (BASE_URL)")
    parser.add_argument("--second-url", required=True, help="a second gateway instance on the same database")
    parser.add_argument("--client-id", required=True, help="a client with REQUIRE_DPOP = yes")
    parser.add_argument("--nonce-client-id", required=True, help="a client with REQUIRE_DPOP_NONCE = yes")
    parser.add_argument("--redirect-uri", required=True)
    parser.add_argument("--wallet-bin", required=True, help="path of kych-wallet")
    parser.add_argument("--wallet", required=True, help="wallet folder holding a Beta-ID credential")
    args = parser.parse_args()
    try:
        report = run(args)
    except FlowFailure as failure:
        print(f"dpop_flow: FAILED: {failure}", file=sys.stderr)
        sys.exit(1)
    except Exception as error:  # HTTP, JSON and joserfc errors: one clear line, not a bare traceback
        print(f"dpop_flow: FAILED: {type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(1)
    print(json.dumps(report, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
