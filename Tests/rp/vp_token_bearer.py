#!/usr/bin/env python3
"""An independent organisation wallet (PyPI sd-jwt + joserfc, no KyCH code) uses KyCH's vp_token-bearer grant.

`keys DIR`: makes the issuer's and the holder's P-256 keys with joserfc, stores them in DIR and prints the issuer's
did:jwk (for the gateway's [scope_*] ACCEPTED_ISSUER_DIDS).

`run DIR --base-url URL --client-id ID --other-client-id ID`: discovers the token and nonce endpoints (RFC 8414),
issues SD-JWT VCs with the reference implementation (sd-jwt's SDJWTIssuer: typ dc+sd-jwt, kid <did>#0, cnf the
holder key), presents them with key binding (SDJWTHolder: nonce from POST /nonce, aud the token endpoint), and sends
each scenario's token request; for the accepted one it reads /info. Prints one JSON report {scenario: {status, body}}.
The client secret comes from $KYCH_VP_CLIENT_SECRET.
"""

import argparse
import base64
import hashlib
import json
import os
import secrets
import sys
import time

import requests
from joserfc import jwt
from joserfc.jwk import ECKey
from jwcrypto import jwk as jwcrypto_jwk
from sd_jwt.common import SDObj
from sd_jwt.holder import SDJWTHolder
from sd_jwt.issuer import SDJWTIssuer


def did_jwk(key):
    public = key.as_dict(private=False)
    text = json.dumps({k: public[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"))
    return "did:jwk:" + base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def load(directory, name):
    with open(os.path.join(directory, name + ".json")) as f:
        return ECKey.import_key(json.load(f))


def to_jwcrypto(key):
    return jwcrypto_jwk.JWK(**key.as_dict(private=True))


def issue(issuer, holder, vct="OrganisationCredential", valid_for=3600):
    did = did_jwk(issuer)
    now = int(time.time())
    claims = {"iss": did, "vct": vct, "iat": now - 60, "exp": now + valid_for,
              SDObj("organisation_name"): "Zorg BV", SDObj("organisation_id"): "12345678"}
    return SDJWTIssuer(claims, to_jwcrypto(issuer), holder_key=to_jwcrypto(holder), sign_alg="ES256",
                       extra_header_parameters={"typ": "dc+sd-jwt", "kid": did + "#0"}).sd_jwt_issuance


def present(issuance, holder, nonce, aud):
    wallet = SDJWTHolder(issuance)
    wallet.create_presentation({"organisation_name": True, "organisation_id": True}, nonce=nonce, aud=aud,
                               holder_key=to_jwcrypto(holder), sign_alg="ES256")
    return wallet.sd_jwt_presentation


def dpop_proof(key, method, url, access_token=None):
    """RFC 9449 §4.2, made with joserfc: the client's key in the header, htm, htu, iat, jti (ath at resources)."""
    claims = {"jti": secrets.token_urlsafe(16), "htm": method, "htu": url, "iat": int(time.time())}
    if access_token is not None:
        claims["ath"] = base64.urlsafe_b64encode(hashlib.sha256(access_token.encode()).digest()).decode().rstrip("=")
    return jwt.encode({"typ": "dpop+jwt", "alg": "ES256", "jwk": key.as_dict(private=False)}, claims, key)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["keys", "run"])
    parser.add_argument("directory")
    parser.add_argument("--base-url")
    parser.add_argument("--client-id")
    parser.add_argument("--other-client-id")
    args = parser.parse_args()
    if args.mode == "keys":
        for name in ("issuer", "holder"):
            with open(os.path.join(args.directory, name + ".json"), "w") as f:
                json.dump(ECKey.generate_key("P-256").as_dict(private=True), f)
        print(did_jwk(load(args.directory, "issuer")))
        return

    issuer, holder = load(args.directory, "issuer"), load(args.directory, "holder")
    secret = os.environ["KYCH_VP_CLIENT_SECRET"]
    metadata = requests.get(args.base_url + "/.well-known/oauth-authorization-server", timeout=10).json()
    token_endpoint, nonce_endpoint = metadata["token_endpoint"], metadata["nonce_endpoint"]
    report = {"grant_types_supported": metadata["grant_types_supported"]}

    def nonce():
        reply = requests.post(nonce_endpoint, timeout=10)
        reply.raise_for_status()
        return reply.json()["c_nonce"]

    def token(presentation, scope="care", client_id=args.client_id, headers=None):
        reply = requests.post(token_endpoint, auth=(client_id, secret), timeout=10, headers=headers or {},
                              data={"grant_type": "vp_token-bearer", "scope": scope, "assertion": presentation})
        return {"status": reply.status_code, "body": reply.json(), "content_type": reply.headers.get("Content-Type")}

    good = present(issue(issuer, holder), holder, nonce(), token_endpoint)
    report["accepted"] = token(good)
    access_token = report["accepted"]["body"].get("access_token")
    if access_token:
        introspection = requests.post(metadata["introspection_endpoint"], auth=(args.client_id, secret),
                                      data={"token": access_token}, timeout=10)
        report["introspection"] = {"status": introspection.status_code, "body": introspection.json()}
        info = requests.get(args.base_url + "/info", headers={"Authorization": "Bearer " + access_token}, timeout=10)
        report["info"] = {"status": info.status_code, "body": info.json()}
    report["replayed"] = token(good)
    # DPoP (RFC 9449): the token is bound to the wallet's DPoP key, and /info takes it only with a proof of that key.
    dpop_key = ECKey.generate_key("P-256")
    bound = token(present(issue(issuer, holder), holder, nonce(), token_endpoint),
                  headers={"DPoP": dpop_proof(dpop_key, "POST", token_endpoint)})
    report["dpop"] = bound
    bound_token = bound["body"].get("access_token")
    if bound_token:
        info_url = args.base_url + "/info"
        as_bearer = requests.get(info_url, headers={"Authorization": "Bearer " + bound_token}, timeout=10)
        with_proof = requests.get(info_url, timeout=10, headers={"Authorization": "DPoP " + bound_token,
                                                                 "DPoP": dpop_proof(dpop_key, "GET", info_url, bound_token)})
        report["dpop_info"] = {"as_bearer": as_bearer.status_code, "with_proof": with_proof.status_code,
                               "claims": with_proof.json().get("claims")}
    stranger = ECKey.generate_key("P-256")
    report["other_issuer"] = token(present(issue(stranger, holder), holder, nonce(), token_endpoint))
    report["wrong_aud"] = token(present(issue(issuer, holder), holder, nonce(), "https://other-as.example/token"))
    report["foreign_nonce"] = token(present(issue(issuer, holder), holder, "made-up-by-the-wallet", token_endpoint))
    report["expired"] = token(present(issue(issuer, holder, valid_for=-3600), holder, nonce(), token_endpoint))
    report["other_scope"] = token(present(issue(issuer, holder), holder, nonce(), token_endpoint), scope="billing")
    report["client_not_allowed"] = token(present(issue(issuer, holder), holder, nonce(), token_endpoint),
                                         client_id=args.other_client_id)
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()
