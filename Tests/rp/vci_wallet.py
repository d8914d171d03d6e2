#!/usr/bin/env python3
"""An independent OpenID4VCI 1.0 wallet (PyPI joserfc for keys and key proofs, PyPI sd-jwt for the credential,
requests for HTTP; no KyCH code) receiving the KyCH attestation through the authorization code flow.

It reads the credential issuer metadata, finds the authorization server and its metadata, runs the authorization
code flow with PKCE as the public client --client-id asking with RFC 9396 authorization_details (the person's
`kych-wallet` presenting the Beta-ID at the verification step), redeems the code, gets a `c_nonce` from the nonce
endpoint and calls the credential endpoint with a key proof and the credential identifier of the token response. It
then checks the attestation with PyPI sd-jwt: the signature with the key of the issuer's `/.well-known/jwt-vc-issuer`
that the header's kid names, the disclosures, and the key binding of a presentation it makes with its own key, and
reads the attestation's bit in the issuer's status list (joserfc checking that token's signature). Before
that it tries credential requests that must be refused: a proof with the wrong typ, the wrong aud, a reused nonce, a
stale nonce (older than its 60 s), a token of --other-client-id (granted the configuration's scope) with this wallet's
proof, a token of --other-client-id granted claims only, and an unknown credential configuration.

With --offer LINK it starts from a credential offer instead (OpenID4VCI 1.0 §4.1, parsed with urllib and json): the
offer's credential_issuer gives the metadata, and the authorization request carries only the offer's issuer_state (no
scope, no authorization_details); it also tries the state changed by one character, which must be refused. It then
skips the refusals above and only receives and checks the attestation.

Prints one JSON report on stdout; the Swift test judges it. On a failure of the flow itself prints the reason on
stderr and exits 1.

    vci_wallet.py --base-url http://127.0.0.1:8080 --client-id wallet --other-client-id wallet2 \\
        --redirect-uri https://wallet.example/cb --wallet-bin .build/debug/kych-wallet --wallet DIR
"""

import argparse
import base64
import hashlib
import json
import os
import secrets
import sys
import time
import zlib
from urllib.parse import parse_qs, urlsplit

import requests
from joserfc import jwt
from joserfc.jwk import ECKey
from jwcrypto.jwk import JWK
from sd_jwt.holder import SDJWTHolder
from sd_jwt.verifier import SDJWTVerifier

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from person import (FlowFailure, check, present_with_wallet, treat_loopback_as_secure_context,  # noqa: E402
                    wait_until_verified)

PROOF_TYP = "openid4vci-proof+jwt"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(part):
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def answer(reply):
    try:
        body = reply.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    return {"status": reply.status_code, "error": body.get("error"), "error_description": body.get("error_description"),
            "content_type": reply.headers.get("Content-Type")}


def parse_offer(link):
    """The credential offer object of an openid-credential-offer:// link: carried by value (credential_offer), or
    fetched from its credential_offer_uri (OpenID4VCI 1.0 §4.1.3)."""
    parts = urlsplit(link)
    check(parts.scheme == "openid-credential-offer", f"not a credential offer link: {link[:80]}")
    query = parse_qs(parts.query)
    if "credential_offer_uri" in query:
        reply = requests.get(query["credential_offer_uri"][0], timeout=30)
        check(reply.status_code == 200, f"credential_offer_uri: HTTP {reply.status_code} {reply.text[:300]}")
        return reply.json()
    values = query.get("credential_offer", [])
    check(len(values) == 1, "the link carries no credential_offer")
    return json.loads(values[0])


def authorization_params(args, client_id, state, verifier):
    return {"response_type": "code", "client_id": client_id, "redirect_uri": args.redirect_uri, "state": state,
            "code_challenge": b64url(hashlib.sha256(verifier.encode()).digest()), "code_challenge_method": "S256"}


def access_token(args, as_metadata, client_id, scope=None, authorization_details=None, issuer_state=None):
    """The person's part and the token request of a public client with PKCE, asking with `scope`, RFC 9396
    `authorization_details` or a credential offer's `issuer_state`; returns the token response."""
    verifier = secrets.token_urlsafe(48)
    state = secrets.token_urlsafe(24)
    params = authorization_params(args, client_id, state, verifier)
    if issuer_state:
        params["issuer_state"] = issuer_state
    if scope:
        params["scope"] = scope
    if authorization_details:
        params["authorization_details"] = json.dumps(authorization_details)
    browser = requests.Session()
    reply = browser.get(as_metadata["authorization_endpoint"], params=params, headers={"Accept": "application/json"}, timeout=30)
    check(reply.status_code == 200, f"GET /authorize: HTTP {reply.status_code} {reply.text[:300]}")
    started = reply.json()
    treat_loopback_as_secure_context(browser.cookies)
    present_with_wallet(args.wallet_bin, args.wallet, started["verification_deeplink"])
    base_url = args.base_url.rstrip("/")
    wait_until_verified(browser, base_url, started["verification_id"], state)
    reply = browser.get(f"{base_url}/finalize/{started['verification_id']}", params={"state": state}, allow_redirects=False, timeout=30)
    check(reply.status_code in (302, 303), f"GET /finalize: HTTP {reply.status_code} {reply.text[:300]}")
    response = parse_qs(urlsplit(reply.headers.get("Location", "")).query)
    check("code" in response, f"no code in the redirect: {response}")
    reply = requests.post(as_metadata["token_endpoint"], timeout=30, data={
        "grant_type": "authorization_code", "code": response["code"][0], "redirect_uri": args.redirect_uri,
        "code_verifier": verifier, "client_id": client_id})
    check(reply.status_code == 200, f"POST /token: HTTP {reply.status_code} {reply.text[:300]}")
    return reply.json()


class Wallet:
    def __init__(self, metadata, client_id):
        self.metadata = metadata
        self.client_id = client_id
        self.key = ECKey.generate_key("P-256")

    def nonce(self):
        reply = requests.post(self.metadata["nonce_endpoint"], timeout=30)
        check(reply.status_code == 200 and reply.headers.get("Cache-Control") == "no-store", f"nonce endpoint: {reply.status_code}")
        return reply.json()["c_nonce"]

    def proof(self, nonce, typ=PROOF_TYP, aud=None, iss=None):
        """A key proof (OpenID4VCI 1.0 Appendix F.1): the public key in jwk, signed by it."""
        claims = {"aud": aud or self.metadata["credential_issuer"], "iat": int(time.time()), "nonce": nonce, "iss": iss or self.client_id}
        header = {"typ": typ, "alg": "ES256", "jwk": self.key.as_dict(private=False)}
        return jwt.encode(header, claims, self.key)

    def request(self, token, proof, configuration):
        """A credential request: by the credential identifier the token response named (OpenID4VCI 1.0 §8.2), else by
        the credential configuration."""
        identifiers = [i for d in token.get("authorization_details") or [] if d.get("credential_configuration_id") == configuration
                       for i in d.get("credential_identifiers", [])]
        body = {"credential_identifier": identifiers[0]} if identifiers else {"credential_configuration_id": configuration}
        body["proofs"] = {"jwt": [proof]}
        return requests.post(self.metadata["credential_endpoint"], timeout=30,
                             headers={"Authorization": f"{token['token_type']} {token['access_token']}"}, json=body)


def verify_independently(args, wallet, credential):
    """PyPI sd-jwt: the issuer's signature with the jwt-vc-issuer key, the disclosures, the key binding."""
    issuer = wallet.metadata["credential_issuer"]
    reply = requests.get(f"{args.base_url.rstrip('/')}/.well-known/jwt-vc-issuer", timeout=30)
    check(reply.status_code == 200, f"jwt-vc-issuer: HTTP {reply.status_code}")
    vc_issuer = reply.json()
    check(vc_issuer.get("issuer") == issuer, f"jwt-vc-issuer names {vc_issuer.get('issuer')!r}, not {issuer!r}")
    header = b64url_json(credential.split("~")[0].split(".")[0])

    def issuer_key(iss, jose_header):
        check(iss == issuer, f"the attestation's iss is {iss!r}")
        keys = [k for k in vc_issuer["jwks"]["keys"] if k.get("kid") == jose_header.get("kid")]
        check(len(keys) == 1, f"no jwt-vc-issuer key has the kid {jose_header.get('kid')!r}")
        return JWK.from_json(json.dumps(keys[0]))

    names = [b64url_json(disclosure)[1] for disclosure in credential.split("~")[1:-1]]
    holder = SDJWTHolder(credential)
    nonce, aud = secrets.token_urlsafe(16), "https://verifier.example"
    holder_key = JWK.from_json(json.dumps(wallet.key.as_dict(private=True)))
    holder.create_presentation({name: True for name in names}, nonce=nonce, aud=aud, holder_key=holder_key, sign_alg="ES256")
    verifier = SDJWTVerifier(holder.sd_jwt_presentation, issuer_key, expected_aud=aud, expected_nonce=nonce)
    payload = verifier.get_verified_payload()
    # A presentation whose key binding another key signed must fail.
    impostor = SDJWTHolder(credential)
    impostor.create_presentation({name: True for name in names}, nonce=nonce, aud=aud, sign_alg="ES256",
                                 holder_key=JWK.from_json(json.dumps(ECKey.generate_key("P-256").as_dict(private=True))))
    try:
        SDJWTVerifier(impostor.sd_jwt_presentation, issuer_key, expected_aud=aud, expected_nonce=nonce)
        foreign_key_binding = "accepted"
    except Exception as error:  # noqa: BLE001 - any refusal counts
        foreign_key_binding = f"refused: {type(error).__name__}"
    status = payload.get("status", {}).get("status_list", {})
    return {"header": header, "payload": payload, "disclosed": sorted(names), "foreign_key_binding": foreign_key_binding,
            "holder_jwk": wallet.key.as_dict(private=False),
            "status_bit": status_bit(vc_issuer, status["uri"], status["idx"]) if status else None}


def status_bit(vc_issuer, uri, index):
    """The bit of `index` in the status list token at `uri` (draft-ietf-oauth-status-list), its signature checked by
    joserfc with the jwt-vc-issuer key its kid names."""
    reply = requests.get(uri, timeout=30)
    check(reply.status_code == 200 and reply.headers.get("Content-Type") == "application/statuslist+jwt",
          f"status list: HTTP {reply.status_code} {reply.headers.get('Content-Type')}")
    header = b64url_json(reply.text.split(".")[0])
    check(header.get("typ") == "statuslist+jwt", f"status list typ {header.get('typ')!r}")
    keys = [k for k in vc_issuer["jwks"]["keys"] if k.get("kid") == header.get("kid")]
    check(len(keys) == 1, "no jwt-vc-issuer key signs the status list")
    token = jwt.decode(reply.text, ECKey.import_key(keys[0]), algorithms=["ES256"])
    check(token.claims.get("sub") == uri, f"status list sub {token.claims.get('sub')!r}")
    status_list = token.claims["status_list"]
    check(status_list["bits"] == 1, "status list bits")
    packed = zlib.decompress(base64.urlsafe_b64decode(status_list["lst"] + "=" * (-len(status_list["lst"]) % 4)))
    return (packed[index // 8] >> (index % 8)) & 1


def refused_state(args, as_metadata, state):
    """The authorization endpoint's answer to a changed issuer_state: the error it redirects with."""
    params = authorization_params(args, args.client_id, "s", secrets.token_urlsafe(48))
    params["issuer_state"] = state
    reply = requests.get(as_metadata["authorization_endpoint"], params=params, allow_redirects=False, timeout=30)
    query = parse_qs(urlsplit(reply.headers.get("Location", "")).query)
    return {"status": reply.status_code, "error": query.get("error", [None])[0],
            "error_description": query.get("error_description", [None])[0]}


def run_offer(args):
    """From a credential offer to the checked attestation."""
    offer = parse_offer(args.offer)
    report = {"offer": offer}
    issuer = offer["credential_issuer"]
    reply = requests.get(f"{issuer}/.well-known/openid-credential-issuer", timeout=30)
    check(reply.status_code == 200, f"credential issuer metadata: HTTP {reply.status_code}")
    metadata = reply.json()
    as_url = metadata["authorization_servers"][0]
    as_metadata = requests.get(f"{as_url}/.well-known/oauth-authorization-server", timeout=30).json()
    state = offer["grants"]["authorization_code"]["issuer_state"]
    changed = state[:-1] + ("A" if state[-1] != "A" else "B")
    report["changed_state"] = refused_state(args, as_metadata, changed)
    token = access_token(args, as_metadata, args.client_id, issuer_state=state)
    report["token_authorization_details"] = token.get("authorization_details")
    configuration_id = offer["credential_configuration_ids"][0]
    wallet = Wallet(metadata, args.client_id)
    reply = wallet.request(token, wallet.proof(wallet.nonce()), configuration_id)
    check(reply.status_code == 200, f"POST /credential: HTTP {reply.status_code} {reply.text[:300]}")
    report["verified"] = verify_independently(args, wallet, reply.json()["credentials"][0]["credential"])
    return report


def run(args):
    report = {}
    base_url = args.base_url.rstrip("/")
    reply = requests.get(f"{base_url}/.well-known/openid-credential-issuer", timeout=30)
    check(reply.status_code == 200, f"credential issuer metadata: HTTP {reply.status_code}")
    metadata = reply.json()
    report["metadata"] = metadata
    configuration_id, configuration = next(iter(metadata["credential_configurations_supported"].items()))
    as_url = metadata["authorization_servers"][0]
    reply = requests.get(f"{as_url}/.well-known/oauth-authorization-server", timeout=30)
    check(reply.status_code == 200, f"authorization server metadata: HTTP {reply.status_code}")
    as_metadata = reply.json()
    report["scopes_supported"] = as_metadata.get("scopes_supported")

    wallet = Wallet(metadata, args.client_id)
    stale_nonce, stale_since = wallet.nonce(), time.monotonic()
    # RFC 9396 authorization_details (OpenID4VCI 1.0 §5.1.1); the other flows below ask with the configuration's scope.
    token = access_token(args, as_metadata, args.client_id,
                         authorization_details=[{"type": "openid_credential", "credential_configuration_id": configuration_id,
                                                 "locations": [metadata["credential_issuer"]]}])
    report["token_type"] = token["token_type"]
    report["token_authorization_details"] = token.get("authorization_details")
    refusals = {}
    refusals["wrong typ"] = answer(wallet.request(token, wallet.proof(wallet.nonce(), typ="JWT"), configuration_id))
    refusals["wrong aud"] = answer(wallet.request(token, wallet.proof(wallet.nonce(), aud=f"{base_url}/token"), configuration_id))
    refusals["unknown configuration"] = answer(wallet.request(token, wallet.proof(wallet.nonce()), "pid"))

    # Another public client's token, granted the attestation: this wallet's proof (its iss) does not match it.
    other = access_token(args, as_metadata, args.other_client_id, configuration["scope"])
    refusals["token of another client"] = answer(wallet.request(other, wallet.proof(wallet.nonce()), configuration_id))
    # A token granted claims only.
    claims_only = access_token(args, as_metadata, args.other_client_id, "given_name")
    refusals["configuration not granted"] = answer(wallet.request(claims_only, wallet.proof(wallet.nonce(), iss=args.other_client_id),
                                                                  configuration_id))

    nonce = wallet.nonce()
    reply = wallet.request(token, wallet.proof(nonce), configuration_id)
    check(reply.status_code == 200, f"POST /credential: HTTP {reply.status_code} {reply.text[:300]}")
    report["cache_control"] = reply.headers.get("Cache-Control")
    credential = reply.json()["credentials"][0]["credential"]
    refusals["reused nonce"] = answer(wallet.request(token, wallet.proof(nonce), configuration_id))
    time.sleep(max(0.0, 62 - (time.monotonic() - stale_since)))
    refusals["stale nonce"] = answer(wallet.request(token, wallet.proof(stale_nonce), configuration_id))
    report["refusals"] = refusals
    report["verified"] = verify_independently(args, wallet, credential)
    return report


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--other-client-id")
    parser.add_argument("--offer", help="an openid-credential-offer:// link to start from")
    parser.add_argument("--redirect-uri", required=True)
    parser.add_argument("--wallet-bin", required=True)
    parser.add_argument("--wallet", required=True)
    args = parser.parse_args()
    try:
        report = run_offer(args) if args.offer else run(args)
    except FlowFailure as failure:
        print(failure, file=sys.stderr)
        sys.exit(1)
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()
