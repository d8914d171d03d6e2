#!/usr/bin/env python3
"""A FAPI 2.0 client (PyPI joserfc + requests, no KyCH code) runs KyCH's flow with every issue-15 mechanism.

Everything the client signs is made by joserfc: the request object (JAR, RFC 9101), the private_key_jwt client
assertions (RFC 7523) and the DPoP proofs (RFC 9449). The flow: metadata, a pushed authorization request (RFC 9126)
carrying the signed request object with PKCE and dpop_jkt, /authorize with the request_uri, the person's browser and
wallet, the code exchanged with a DPoP proof, then /info with DPoP-bound access. Along the way it checks that the
shortcuts fail: plain /authorize, a reused request_uri, /token without a proof, a replayed client assertion, the token
as a Bearer token, proofs from another key, without ath, for another URL, and a replayed proof.

    fapi2_flow.py keygen --key-file F        writes the client key (private) to F, prints the public JWK Set
    fapi2_flow.py run --key-file F --base-url URL --client-id ID --redirect-uri URI --wallet-bin BIN --wallet DIR

Prints one JSON report on stdout; on any failure prints the reason on stderr and exits 1.
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
from joserfc.jwk import ECKey

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from person import (FlowFailure, check, present_with_wallet, treat_loopback_as_secure_context,  # noqa: E402
                    wait_until_verified)

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Client:
    def __init__(self, key, client_id, issuer, metadata):
        self.key, self.client_id, self.issuer, self.metadata = key, client_id, issuer, metadata
        self.kid = key.thumbprint()
        self.dpop_key = ECKey.generate_key("P-256")
        self.dpop_nonce = None

    def assertion(self):
        """RFC 7523 §3: iss = sub = client_id, aud = the issuer identifier (FAPI 2.0 §5.3.2.1), exp, single-use jti."""
        now = int(time.time())
        claims = {"iss": self.client_id, "sub": self.client_id, "aud": self.issuer, "iat": now, "exp": now + 60,
                  "jti": secrets.token_urlsafe(16)}
        return jwt.encode({"alg": "ES256", "kid": self.kid}, claims, self.key)

    def authentication(self, assertion=None):
        return {"client_id": self.client_id, "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": assertion or self.assertion()}

    def request_object(self, parameters):
        """RFC 9101 §4: the authorization request's parameters as claims, signed with the client's key."""
        now = int(time.time())
        claims = dict(parameters, iss=self.client_id, aud=self.issuer, client_id=self.client_id, iat=now, nbf=now,
                      exp=now + 60, jti=secrets.token_urlsafe(16))
        return jwt.encode({"alg": "ES256", "kid": self.kid, "typ": "oauth-authz-req+jwt"}, claims, self.key)

    def proof(self, method, url, access_token=None, key=None, with_ath=True, iat=None):
        """RFC 9449 §4.2: typ dpop+jwt, the public key in the header, htm, htu, iat, jti; ath at resource endpoints."""
        key = key or self.dpop_key
        claims = {"htm": method, "htu": url, "iat": iat or int(time.time()), "jti": secrets.token_urlsafe(16)}
        if access_token and with_ath:
            claims["ath"] = b64url(hashlib.sha256(access_token.encode()).digest())
        if self.dpop_nonce:
            claims["nonce"] = self.dpop_nonce
        return jwt.encode({"typ": "dpop+jwt", "alg": "ES256", "jwk": key.as_dict(private=False)}, claims, key)

    def post_with_dpop(self, url, form):
        """POSTs `form()` with a fresh proof; answers one use_dpop_nonce challenge (RFC 9449 §8) by retrying with the
        nonce (and a new form: the refused attempt may have used its assertion's jti)."""
        for _ in range(2):
            reply = requests.post(url, data=form(), headers={"DPoP": self.proof("POST", url)}, timeout=30)
            if reply.headers.get("DPoP-Nonce"):
                self.dpop_nonce = reply.headers["DPoP-Nonce"]
            if reply.status_code == 400 and error_of(reply) == "use_dpop_nonce":
                continue
            return reply
        return reply


def discover(base_url, checks):
    reply = requests.get(f"{base_url}/.well-known/oauth-authorization-server", timeout=10)
    check(reply.status_code == 200, f"metadata: HTTP {reply.status_code} {reply.text[:300]}")
    metadata = reply.json()
    check(metadata.get("issuer") == base_url, f"metadata issuer {metadata.get('issuer')!r} is not {base_url!r}")
    check(metadata.get("pushed_authorization_request_endpoint"), "metadata has no pushed_authorization_request_endpoint")
    check("ES256" in (metadata.get("dpop_signing_alg_values_supported") or []), "metadata offers no DPoP ES256")
    check("private_key_jwt" in (metadata.get("token_endpoint_auth_methods_supported") or []), "metadata lacks private_key_jwt")
    check("ES256" in (metadata.get("request_object_signing_alg_values_supported") or []), "metadata offers no ES256 request objects")
    check(metadata.get("authorization_response_iss_parameter_supported") is True, "metadata does not promise RFC 9207 iss")
    checks.append("metadata: PAR endpoint, DPoP ES256, private_key_jwt, ES256 request objects, iss parameter")
    return metadata


def error_of(reply):
    try:
        return reply.json().get("error")
    except ValueError:
        return None


def run(args):
    checks = []
    base_url = args.base_url.rstrip("/")
    with open(args.key_file) as f:
        key = ECKey.import_key(json.load(f))
    metadata = discover(base_url, checks)
    client = Client(key, args.client_id, metadata["issuer"], metadata)
    scope = args.scope.split()
    verifier = secrets.token_urlsafe(48)
    state = secrets.token_urlsafe(24)
    parameters = {"response_type": "code", "redirect_uri": args.redirect_uri, "scope": args.scope, "state": state,
                  "code_challenge": b64url(hashlib.sha256(verifier.encode()).digest()), "code_challenge_method": "S256",
                  "dpop_jkt": client.dpop_key.thumbprint()}

    # A FAPI 2.0 client's plain authorization request is refused (RFC 9126 §6: PAR required).
    plain = requests.get(metadata["authorization_endpoint"], params=dict(parameters, client_id=args.client_id),
                         headers={"Accept": "application/json"}, allow_redirects=False, timeout=30)
    check(plain.status_code >= 400, f"plain /authorize for a PAR-only client: HTTP {plain.status_code}, expected a refusal")
    checks.append(f"plain /authorize refused ({plain.status_code})")

    par = metadata["pushed_authorization_request_endpoint"]
    reply = requests.post(par, data=dict(client.authentication(), request=client.request_object(parameters)), timeout=30)
    check(reply.status_code == 201, f"POST /par: HTTP {reply.status_code} {reply.text[:300]}")
    pushed = reply.json()
    request_uri = pushed.get("request_uri", "")
    check(request_uri.startswith("urn:ietf:params:oauth:request_uri:"), f"request_uri {request_uri!r}")
    check(isinstance(pushed.get("expires_in"), int) and 0 < pushed["expires_in"] <= 600, f"expires_in {pushed.get('expires_in')}")
    checks.append("par: 201 with a urn request_uri (request object signed by joserfc, private_key_jwt)")

    browser = requests.Session()
    reply = browser.get(metadata["authorization_endpoint"], params={"client_id": args.client_id, "request_uri": request_uri},
                        headers={"Accept": "application/json"}, timeout=30)
    check(reply.status_code == 200, f"GET /authorize with request_uri: HTTP {reply.status_code} {reply.text[:300]}")
    started = reply.json()
    check(started.get("state") == state, "the authorization answer's state is not the pushed request's")
    treat_loopback_as_secure_context(browser.cookies)
    again = requests.get(metadata["authorization_endpoint"], params={"client_id": args.client_id, "request_uri": request_uri},
                         headers={"Accept": "application/json"}, allow_redirects=False, timeout=30)
    check(again.status_code >= 400, f"a request_uri used twice: HTTP {again.status_code}, expected a refusal")
    checks.append("authorize: request_uri accepted once, refused the second time")

    present_with_wallet(args.wallet_bin, args.wallet, started["verification_deeplink"])
    wait_until_verified(browser, base_url, started["verification_id"], state)
    reply = browser.get(f"{base_url}/finalize/{started['verification_id']}", params={"state": state},
                        allow_redirects=False, timeout=30)
    check(reply.status_code in (302, 303), f"GET /finalize: HTTP {reply.status_code} {reply.text[:300]}")
    response = parse_qs(urlsplit(reply.headers.get("Location", "")).query)
    check("error" not in response, f"authorization error: {response.get('error')} {response.get('error_description')}")
    check(response.get("state") == [state] and response.get("iss") == [client.issuer], "the response's state or iss is wrong")
    code = response["code"][0]
    checks.append("wallet presented; the redirect carries code, state and iss")

    token_url = metadata["token_endpoint"]
    grant = {"grant_type": "authorization_code", "code": code, "redirect_uri": args.redirect_uri, "code_verifier": verifier}
    reply = requests.post(token_url, data=dict(grant, **client.authentication()), timeout=30)
    check(reply.status_code == 400, f"/token without a DPoP proof: HTTP {reply.status_code} {reply.text[:300]}")
    checks.append(f"token without DPoP refused ({error_of(reply)})")

    stranger = ECKey.generate_key("P-256")
    reply = requests.post(token_url, data=dict(grant, **client.authentication()),
                          headers={"DPoP": client.proof("POST", token_url, key=stranger)}, timeout=30)
    check(reply.status_code == 400, f"/token with a proof from a key other than dpop_jkt: HTTP {reply.status_code} {reply.text[:300]}")
    checks.append(f"token with a proof from another key than dpop_jkt refused ({error_of(reply)})")

    reply = client.post_with_dpop(token_url, lambda: dict(grant, **client.authentication()))
    check(reply.status_code == 200, f"/token: HTTP {reply.status_code} {reply.text[:300]}")
    token = reply.json()
    check(token.get("token_type") == "DPoP", f"token_type is {token.get('token_type')!r}, expected DPoP")
    access_token = token["access_token"]
    checks.append("token: DPoP-bound (token_type DPoP), PKCE verifier, private_key_jwt")

    assertion = client.assertion()
    # With a code that is not one: sending the real code again would revoke its token (RFC 6749 §4.1.2).
    replay = dict(grant, **client.authentication(assertion))
    replay["code"] = "not-a-code"
    requests.post(token_url, data=replay, headers={"DPoP": client.proof("POST", token_url)}, timeout=30)
    reply = requests.post(token_url, data=replay, headers={"DPoP": client.proof("POST", token_url)}, timeout=30)
    check(reply.status_code == 401 and error_of(reply) == "invalid_client",
          f"a replayed client assertion: HTTP {reply.status_code} {reply.text[:300]}")
    checks.append("a replayed client assertion is refused (invalid_client)")

    info = f"{client.issuer}/info"
    refusals = {
        "bearer": {"Authorization": f"Bearer {access_token}"},
        "another key": {"Authorization": f"DPoP {access_token}", "DPoP": client.proof("GET", info, access_token, key=stranger)},
        "no ath": {"Authorization": f"DPoP {access_token}", "DPoP": client.proof("GET", info, access_token, with_ath=False)},
        "another URL": {"Authorization": f"DPoP {access_token}", "DPoP": client.proof("GET", f"{client.issuer}/userinfo", access_token)},
        "another method": {"Authorization": f"DPoP {access_token}", "DPoP": client.proof("POST", info, access_token)},
        "old iat": {"Authorization": f"DPoP {access_token}", "DPoP": client.proof("GET", info, access_token, iat=int(time.time()) - 3600)},
    }
    answers = {}
    for name, headers in refusals.items():
        reply = requests.get(info, headers=headers, timeout=30)
        check(reply.status_code == 401, f"/info with {name}: HTTP {reply.status_code}, expected 401 ({reply.text[:200]})")
        check("DPoP" in reply.headers.get("WWW-Authenticate", ""), f"/info with {name}: no DPoP challenge")
        answers[name] = error_of(reply)
    checks.append("info refused (401, DPoP challenge) with: " + ", ".join(refusals))

    proof = client.proof("GET", info, access_token)
    reply = requests.get(info, headers={"Authorization": f"DPoP {access_token}", "DPoP": proof}, timeout=30)
    check(reply.status_code == 200, f"/info with a fresh proof: HTTP {reply.status_code} {reply.text[:300]}")
    claims = reply.json().get("claims") or {}
    check(sorted(claims) == sorted(scope), f"/info claims {sorted(claims)} are not the scope {sorted(scope)}")
    reply = requests.get(info, headers={"Authorization": f"DPoP {access_token}", "DPoP": proof}, timeout=30)
    check(reply.status_code == 401, f"/info with a replayed proof: HTTP {reply.status_code}, expected 401")
    answers["replayed proof"] = error_of(reply)
    reply = requests.get(info, headers={"Authorization": f"DPoP {access_token}", "DPoP": client.proof("GET", info, access_token)},
                         timeout=30)
    check(reply.status_code == 200, f"/info with another fresh proof: HTTP {reply.status_code} {reply.text[:300]}")
    checks.append("info: 200 with a fresh proof from the bound key, 401 for the same proof replayed, 200 with the next")

    return {"issuer": client.issuer, "client_id": args.client_id, "token_type": token["token_type"], "claims": claims,
            "refusals": answers, "checks": checks}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["keygen", "run"])
    parser.add_argument("--key-file", required=True)
    parser.add_argument("--base-url")
    parser.add_argument("--client-id")
    parser.add_argument("--redirect-uri")
    parser.add_argument("--wallet-bin")
    parser.add_argument("--wallet")
    parser.add_argument("--scope", default="given_name age_over_18")
    args = parser.parse_args()
    if args.command == "keygen":
        key = ECKey.generate_key("P-256")
        with open(os.open(args.key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            json.dump(key.as_dict(private=True), f)
        public = dict(key.as_dict(private=False), kid=key.thumbprint(), use="sig", alg="ES256")
        print(json.dumps({"keys": [public]}, separators=(",", ":")))
        return
    try:
        report = run(args)
    except FlowFailure as failure:
        print(f"fapi2_flow: FAILED: {failure}", file=sys.stderr)
        sys.exit(1)
    except Exception as error:  # HTTP and JSON errors: one clear line, not a bare traceback
        print(f"fapi2_flow: FAILED: {type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(1)
    print(json.dumps(report, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
