#!/usr/bin/env python3
"""A strict OpenID Connect relying party (PyPI idpyoidc, IdentityPython; no KyCH code) runs KyCH's flow.

idpyoidc does the protocol: OpenID Connect Discovery from ISSUER/.well-known/openid-configuration (it checks the
issuer and loads the keys at jwks_uri), static client registration (client_secret_basic or client_secret_post),
the authorization request (response_type code, its own state, nonce and PKCE S256 challenge), parsing the
authorization response (state, RFC 9207 iss), the token request (code, redirect_uri, code_verifier), verifying the
ID token (signature against the jwks_uri keys with the client's registered alg, iss, aud, exp, iat, the nonce it
bound to this state, at_hash over the access token) and the UserInfo request. This script plays the person's
browser with a requests.Session and the wallet with `kych-wallet present`, and checks what the specs say the
relying party must check on top (OpenID Connect Core §5.3.2: userinfo sub equals the ID token's sub).

Prints one JSON report on stdout; on any failure prints the reason on stderr and exits 1.
The client secret comes from $KYCH_RP_CLIENT_SECRET (not the command line, which `ps` shows).

    KYCH_RP_CLIENT_SECRET=… idpyoidc_flow.py --base-url http://127.0.0.1:8080 --client-id rp \\
        --redirect-uri https://rp.example/cb --wallet-bin .build/debug/kych-wallet --wallet DIR \\
        [--auth-method client_secret_post] [--id-token-alg RS256]
"""

import argparse
import base64
import hashlib
import json
import logging
import os
import sys
from urllib.parse import parse_qs, urlsplit

import requests
from idpyoidc.client.defaults import DEFAULT_OIDC_SERVICES
from idpyoidc.client.oauth2.stand_alone_client import StandAloneClient
from idpyoidc.message import Message
from idpyoidc.message.oidc import verified_claim_name, verify_id_token

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from person import (FlowFailure, check, present_with_wallet, treat_loopback_as_secure_context,  # noqa: E402
                    wait_until_verified)


def s256(verifier):
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def make_client(args, secret):
    """A StandAloneClient (idpyoidc's relying party for one OP), statically registered."""
    config = {
        "issuer": args.base_url,
        "client_id": args.client_id,
        "client_secret": secret,
        "redirect_uris": [args.redirect_uri],
        "client_type": "oidc",
        "client_authn_methods": [args.auth_method],
        "preference": {
            "response_types_supported": ["code"],
            "token_endpoint_auth_methods_supported": [args.auth_method],
            "id_token_signing_alg_values_supported": [args.id_token_alg],
            "scopes_supported": ["openid"] + args.claims,
        },
        "add_ons": {
            "pkce": {
                "function": "idpyoidc.client.oauth2.add_on.pkce.add_support",
                "kwargs": {"code_challenge_length": 64, "code_challenge_method": "S256"},
            }
        },
    }
    return StandAloneClient(config=config, services=DEFAULT_OIDC_SERVICES, httpc_params={"verify": True, "timeout": 30})


def run(args):
    checks = []
    base_url = args.base_url.rstrip("/")
    args.base_url = base_url
    secret = os.environ.get("KYCH_RP_CLIENT_SECRET") or None
    check(secret, "KYCH_RP_CLIENT_SECRET is not set (this relying party is a confidential client)")
    scope = "openid " + " ".join(args.claims)

    client = make_client(args, secret)
    context = client.get_context()

    # OpenID Connect Discovery 1.0 §4: idpyoidc fetches ISSUER/.well-known/openid-configuration, refuses a
    # different issuer (§4.3), and loads the keys at jwks_uri into its key jar under the issuer.
    issuer = client.do_provider_info()
    check(issuer == base_url, f"discovered issuer {issuer!r} is not {base_url!r}")
    provider = context.provider_info
    for key in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri"):
        check(provider.get(key), f"the provider metadata has no {key}")
    check(args.auth_method in provider.get("token_endpoint_auth_methods_supported", []),
          f"the provider does not offer {args.auth_method}")
    check(args.id_token_alg in provider.get("id_token_signing_alg_values_supported", []),
          f"the provider does not offer ID tokens signed with {args.id_token_alg}")
    check("S256" in (provider.get("code_challenge_methods_supported") or []), "the provider does not offer PKCE S256")
    keys = client.keyjar.get_signing_key(owner=issuer)
    check(keys, f"idpyoidc loaded no signing keys from {provider['jwks_uri']}")
    checks.append(f"discovery: issuer equals BASE_URL (idpyoidc), {len(keys)} keys loaded from jwks_uri, "
                  f"{args.auth_method}, {args.id_token_alg}, S256 offered")

    # Static registration: the client id and secret come from the configuration, and what the OP holds for this
    # client (its registration response) is set here, so idpyoidc accepts ID tokens signed with that alg only.
    client.do_client_registration()
    check(client.get_client_id() == args.client_id, "idpyoidc did not take the static registration")
    context.registration_response = {"client_id": args.client_id, "token_endpoint_auth_method": args.auth_method,
                                     "id_token_signed_response_alg": args.id_token_alg,
                                     "redirect_uris": [args.redirect_uri], "response_types": ["code"]}
    check(StandAloneClient.get_client_authn_method(client, "token_endpoint") == args.auth_method,
          "idpyoidc would not use the configured client authentication method")

    authorization_url = client.init_authorization(req_args={"scope": scope})
    request = parse_qs(urlsplit(authorization_url).query)
    check(authorization_url.startswith(provider["authorization_endpoint"] + "?"),
          "idpyoidc did not send the request to the discovered authorization endpoint")
    state = request.get("state", [None])[0]
    nonce = request.get("nonce", [None])[0]
    check(state and nonce, "idpyoidc put no state or nonce into the authorization request")
    check(request.get("response_type") == ["code"], f"response_type is {request.get('response_type')}")
    check(request.get("scope") == [scope], f"scope is {request.get('scope')}, expected {scope!r}")
    check(request.get("code_challenge_method") == ["S256"] and request.get("code_challenge"),
          "idpyoidc did not add a PKCE S256 challenge")
    code_verifier = context.cstate.get_set(state, claim=["code_verifier"]).get("code_verifier")
    check(code_verifier and request["code_challenge"] == [s256(code_verifier)],
          "the code_challenge is not S256 of idpyoidc's stored code_verifier")
    checks.append("authorization request (idpyoidc): response_type code, state, nonce, PKCE S256, scope " + scope)

    # The person's browser: one cookie jar from /authorize to /finalize.
    browser = requests.Session()
    reply = browser.get(authorization_url, headers={"Accept": "application/json"}, timeout=30)
    check(reply.status_code == 200, f"GET authorization URL: HTTP {reply.status_code} {reply.text[:300]}")
    started = reply.json()
    for key in ("verification_id", "verification_url", "verification_deeplink"):
        check(started.get(key), f"the authorization answer has no {key}: {started}")
    check(started.get("state") == state, "the authorization answer's state is not the request's")
    treat_loopback_as_secure_context(browser.cookies)

    present_with_wallet(args.wallet_bin, args.wallet, started["verification_deeplink"])
    wait_until_verified(browser, base_url, started["verification_id"], state)
    checks.append("wallet presented; /status reached verified")

    reply = browser.get(f"{base_url}/finalize/{started['verification_id']}", params={"state": state},
                        allow_redirects=False, timeout=30)
    check(reply.status_code in (302, 303), f"GET /finalize: HTTP {reply.status_code} {reply.text[:300]}")
    location = reply.headers.get("Location", "")
    check(location.startswith(args.redirect_uri + "?"), "/finalize did not redirect to the redirect URI")
    response = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    check(response.get("iss") == issuer, f"the authorization response has no iss {issuer!r} (RFC 9207): {sorted(response)}")

    # idpyoidc parses the response: known state, code, and (RFC 9207) iss equal to the issuer.
    authorization_response = client.finalize_auth(response)
    check("error" not in authorization_response,
          f"authorization error: {authorization_response.get('error')} {authorization_response.get('error_description')}")
    check(authorization_response["state"] == state, "idpyoidc returned another state")
    checks.append("authorization response (idpyoidc): code, state, iss equal to the issuer (RFC 9207)")

    # Token request by idpyoidc: code, redirect_uri, code_verifier, client authentication. idpyoidc verifies the
    # ID token in the answer (signature against the jwks_uri keys, alg registered, iss, aud, exp, iat) and that
    # its nonce is the one bound to this state.
    tokens = client.get_access_and_id_token(authorization_response, state=state)
    access_token = tokens["access_token"]
    id_token = tokens["id_token"]
    check(access_token, "no access token")
    check(id_token is not None, "the token response carried no ID token, or idpyoidc did not verify it")
    token_response = context.cstate.get_set(state, claim=["access_token", "id_token", "token_type", "expires_in"])
    check(str(token_response.get("token_type", "")).lower() == "bearer", f"token_type is {token_response.get('token_type')!r}")
    raw_id_token = token_response["id_token"]
    header = json.loads(base64.urlsafe_b64decode(raw_id_token.split(".")[0] + "=="))
    check(header.get("alg") == args.id_token_alg, f"the ID token is signed with {header.get('alg')}, not {args.id_token_alg}")
    check(id_token.jws_header.get("alg") == args.id_token_alg, "idpyoidc verified it with another alg")

    # OpenID Connect Core §3.1.3.7 once more, all of it by idpyoidc on the raw token response and asking for the
    # optional hash checks too (at_hash, §3.1.3.8): only the signing alg is pinned here, as registered.
    recheck = Message(access_token=access_token, id_token=raw_id_token)
    verified = verify_id_token(recheck, check_hash=True, keyjar=client.keyjar, iss=issuer, client_id=args.client_id,
                               allowed_sign_alg=args.id_token_alg, nonce=nonce)
    check(verified and verified_claim_name("id_token") in recheck, "idpyoidc did not verify the ID token")
    claims = recheck[verified_claim_name("id_token")].to_dict()
    check(claims.get("nonce") == nonce, "the ID token's nonce is not the request's")
    check(claims.get("at_hash"), "the ID token has no at_hash")
    check(claims.get("aud") in (args.client_id, [args.client_id]), f"aud is {claims.get('aud')!r}")
    check(claims.get("iss") == issuer, f"iss is {claims.get('iss')!r}")
    checks.append(f"ID token (idpyoidc): {args.id_token_alg} signature against jwks_uri, iss, aud, exp, iat, "
                  "nonce bound to the state, at_hash")

    # UserInfo by idpyoidc (Bearer access token). OpenID Connect Core §5.3.2: its sub must equal the ID token's.
    userinfo = client.get_user_info(state=state, access_token=access_token).to_dict()
    check(userinfo.get("sub") == claims.get("sub"),
          f"userinfo sub {userinfo.get('sub')!r} is not the ID token's sub {claims.get('sub')!r}")
    for claim in args.claims:
        check(claim in userinfo, f"userinfo has no {claim}: {sorted(userinfo)}")
    checks.append("userinfo (idpyoidc): sub equals the ID token's sub, the requested claims")

    report = {
        "client_id": args.client_id, "issuer": issuer, "redirect_uri": args.redirect_uri, "scope": scope,
        "token_endpoint_auth_method": args.auth_method, "id_token_alg": header.get("alg"), "id_token_kid": header.get("kid"),
        "request_nonce": nonce, "id_token": claims, "userinfo": userinfo,
        "sub_equal": userinfo.get("sub") == claims.get("sub"), "checks": checks,
    }
    return report


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", required=True, help="the gateway's issuer identifier (BASE_URL)")
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--redirect-uri", required=True)
    parser.add_argument("--wallet-bin", required=True, help="path of kych-wallet")
    parser.add_argument("--wallet", required=True, help="wallet folder holding a Beta-ID credential")
    parser.add_argument("--claims", default="given_name age_over_18", help="claims asked for besides openid")
    parser.add_argument("--auth-method", default="client_secret_basic", choices=["client_secret_basic", "client_secret_post"])
    parser.add_argument("--id-token-alg", default="ES256", choices=["ES256", "RS256"],
                        help="the alg the client is registered with (the only one accepted)")
    args = parser.parse_args()
    args.claims = args.claims.split()
    # idpyoidc warns on every JSON answer ("application/json != json", its own naming mismatch); its errors stay.
    logging.getLogger("idpyoidc").setLevel(logging.ERROR)
    try:
        report = run(args)
    except FlowFailure as failure:
        print(f"idpyoidc_flow: FAILED: {failure}", file=sys.stderr)
        sys.exit(1)
    except Exception as error:  # idpyoidc's verification errors, HTTP and JSON errors: one clear line
        print(f"idpyoidc_flow: FAILED: {type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(1)
    print(json.dumps(report, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
