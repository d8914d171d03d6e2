#!/usr/bin/env python3
"""An independent relying party (PyPI Authlib + requests, no KyCH code) runs KyCH's whole flow.

It discovers the endpoints from RFC 8414 metadata, builds the authorization request with Authlib
(PKCE S256, state, scope), plays the person's browser with a requests.Session and the wallet with
`kych-wallet present`, checks the RFC 9207 `iss`, redeems the code with Authlib, reads /info, and for a
confidential client introspects (RFC 7662); it revokes the token (RFC 7009) and checks it is dead.

Prints one JSON report on stdout; on any failure prints the reason on stderr and exits 1.
The client secret comes from $KYCH_RP_CLIENT_SECRET (not the command line, which `ps` shows).

    KYCH_RP_CLIENT_SECRET=… authlib_flow.py --base-url http://127.0.0.1:8080 --client-id rp \\
        --redirect-uri https://rp.example/cb --wallet-bin .build/debug/kych-wallet --wallet DIR
"""

import argparse
import json
import os
import sys
from urllib.parse import parse_qs, urlsplit

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2 import rfc8414, rfc9207

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from person import (FlowFailure, check, present_with_wallet, treat_loopback_as_secure_context,  # noqa: E402
                    wait_until_verified)


def discover(base_url, checks):
    """RFC 8414 §3: the metadata at the issuer's well-known URL, validated by Authlib."""
    url = rfc8414.get_well_known_url(base_url, external=True)
    reply = requests.get(url, timeout=10)
    check(reply.status_code == 200, f"GET {url}: HTTP {reply.status_code} {reply.text[:300]}")
    metadata = rfc8414.AuthorizationServerMetadata(reply.json())
    try:
        metadata.validate(metadata_classes=[rfc9207.AuthorizationServerMetadata])
    except ValueError as error:
        raise FlowFailure(f"the metadata at {url} is not valid RFC 8414: {error}") from error
    # RFC 8414 §3.3: the issuer must be the one the well-known URL was built from.
    check(metadata["issuer"] == base_url.rstrip("/"), f"metadata issuer {metadata['issuer']!r} is not {base_url!r}")
    check("S256" in (metadata.get("code_challenge_methods_supported") or []), "metadata does not offer PKCE S256")
    check(metadata.get("authorization_response_iss_parameter_supported") is True, "metadata does not promise RFC 9207 iss")
    for key in ("authorization_endpoint", "token_endpoint", "revocation_endpoint"):
        check(metadata.get(key), f"metadata has no {key}")
    checks.append("metadata: RFC 8414 (Authlib validate), issuer matches, S256, iss parameter supported")
    return metadata


def run(args):
    checks = []
    base_url = args.base_url.rstrip("/")
    secret = os.environ.get("KYCH_RP_CLIENT_SECRET") or None
    metadata = discover(base_url, checks)
    issuer = metadata["issuer"]
    auth_method = "client_secret_basic" if secret else "none"
    check(auth_method in metadata.get("token_endpoint_auth_methods_supported", []),
          f"metadata does not offer token endpoint auth method {auth_method}")

    scope = args.scope.split()
    client = OAuth2Session(client_id=args.client_id, client_secret=secret, scope=args.scope,
                           redirect_uri=args.redirect_uri, code_challenge_method="S256",
                           token_endpoint_auth_method=auth_method, revocation_endpoint_auth_method=auth_method,
                           token_endpoint=metadata["token_endpoint"])
    code_verifier = generate_token(48)
    authorization_url, state = client.create_authorization_url(metadata["authorization_endpoint"],
                                                                state=generate_token(32), code_verifier=code_verifier)
    query = parse_qs(urlsplit(authorization_url).query)
    check(query.get("code_challenge_method") == ["S256"] and query.get("code_challenge"),
          "Authlib did not put an S256 code_challenge into the authorization URL")

    # The person's browser: one cookie jar from /authorize to /finalize.
    browser = requests.Session()
    reply = browser.get(authorization_url, headers={"Accept": "application/json"}, timeout=30)
    check(reply.status_code == 200, f"GET authorization URL: HTTP {reply.status_code} {reply.text[:300]}")
    started = reply.json()
    for key in ("verification_id", "verification_url", "verification_deeplink"):
        check(started.get(key), f"the authorization answer has no {key}: {started}")
    check(started.get("state") == state, "the authorization answer's state is not the request's")
    check(len(browser.cookies) > 0, "the authorization answer set no browser-binding cookie")
    treat_loopback_as_secure_context(browser.cookies)
    checks.append("authorize: JSON answer with the request's state and a browser-binding cookie")

    present_with_wallet(args.wallet_bin, args.wallet, started["verification_deeplink"])
    wait_until_verified(browser, base_url, started["verification_id"], state)
    checks.append("wallet presented; /status reached verified")

    reply = browser.get(f"{base_url}/finalize/{started['verification_id']}", params={"state": state},
                        allow_redirects=False, timeout=30)
    check(reply.status_code in (302, 303), f"GET /finalize: HTTP {reply.status_code} {reply.text[:300]}")
    location = reply.headers.get("Location", "")
    check(location.startswith(args.redirect_uri + "?"), "/finalize did not redirect to the redirect URI")
    response = parse_qs(urlsplit(location).query)
    check("error" not in response, f"authorization error: {response.get('error')} {response.get('error_description')}")
    # RFC 9207 §2.4: Authlib's client does not check iss, so the relying party does.
    check(response.get("iss") == [issuer], f"authorization response iss {response.get('iss')} is not the issuer {issuer}")
    checks.append("authorization response: code, state, iss equals the metadata issuer (RFC 9207)")

    # Authlib checks the state and sends code, redirect_uri and the code_verifier.
    token = client.fetch_token(metadata["token_endpoint"], authorization_response=location, state=state,
                               code_verifier=code_verifier)
    check(str(token.get("token_type", "")).lower() == "bearer", f"token_type is {token.get('token_type')!r}")
    check(isinstance(token.get("expires_in"), int) and token["expires_in"] > 0, "expires_in is missing or not positive")
    access_token = token["access_token"]
    checks.append(f"token: Authlib fetch_token with PKCE verifier and {auth_method}")

    info_url = args.info_url or f"{issuer}/info"
    reply = client.get(info_url, timeout=30)
    check(reply.status_code == 200, f"GET /info: HTTP {reply.status_code} {reply.text[:300]}")
    info = reply.json()
    check(info.get("status") == "success", f"/info status is {info.get('status')!r}")
    claims = info.get("claims") or {}
    check(sorted(claims) == sorted(scope), f"/info claims {sorted(claims)} are not the scope {sorted(scope)}")
    checks.append("info: the claims are exactly the requested scope")

    report = {"client_id": args.client_id, "client_type": "confidential" if secret else "public", "issuer": issuer,
              "redirect_uri": args.redirect_uri, "scope": scope, "claims": claims, "credential": info.get("credential"),
              "token_type": token["token_type"], "expires_in": token["expires_in"]}

    if secret:
        reply = client.introspect_token(metadata["introspection_endpoint"], token=access_token, token_type_hint="access_token")
        check(reply.status_code == 200, f"introspection: HTTP {reply.status_code} {reply.text[:300]}")
        introspection = reply.json()
        check(introspection.get("active") is True, f"introspection says {introspection}")
        check(introspection.get("client_id") == args.client_id, "introspection names another client")
        check(sorted((introspection.get("scope") or "").split()) == sorted(scope), "introspection scope is not the granted scope")
        check(introspection.get("iss", issuer) == issuer, "introspection iss is not the issuer")
        report["introspection"] = introspection
        checks.append("introspection: active, this client, the granted scope")

    # RFC 7009 §2.1: public clients may revoke too, authenticating with client_id alone.
    reply = client.revoke_token(metadata["revocation_endpoint"], token=access_token, token_type_hint="access_token")
    check(reply.status_code == 200, f"revocation: HTTP {reply.status_code} {reply.text[:300]}")
    reply = client.get(info_url, timeout=30)
    check(reply.status_code == 401, f"/info after revocation: HTTP {reply.status_code}, expected 401")
    report["info_after_revocation"] = reply.status_code
    checks.append("revocation: /info then answers 401")
    if secret:
        reply = client.introspect_token(metadata["introspection_endpoint"], token=access_token, token_type_hint="access_token")
        check(reply.status_code == 200 and reply.json() == {"active": False},
              f"introspection after revocation: HTTP {reply.status_code} {reply.text[:300]}")
        report["introspection_after_revocation"] = reply.json()
        checks.append("introspection after revocation: active false")

    report["checks"] = checks
    return report


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", required=True, help="the gateway's issuer identifier (BASE_URL)")
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--redirect-uri", required=True)
    parser.add_argument("--wallet-bin", required=True, help="path of kych-wallet")
    parser.add_argument("--wallet", required=True, help="wallet folder holding a Beta-ID credential")
    parser.add_argument("--scope", default="given_name age_over_18")
    # /info is KyCH's resource endpoint: RFC 8414 metadata has no field for it.
    parser.add_argument("--info-url", help="default: ISSUER/info")
    args = parser.parse_args()
    try:
        report = run(args)
    except FlowFailure as failure:
        print(f"authlib_flow: FAILED: {failure}", file=sys.stderr)
        sys.exit(1)
    except Exception as error:  # Authlib's OAuth errors, HTTP and JSON errors: one clear line, not a bare traceback
        print(f"authlib_flow: FAILED: {type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(1)
    print(json.dumps(report, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
