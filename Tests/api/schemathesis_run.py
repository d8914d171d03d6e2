#!/usr/bin/env python3
"""Checks KyCH's API description against a live gateway (with its embedded verifier).

1. Validates the document the gateway serves at /openapi.json with PyPI openapi-spec-validator (OpenAPI 3.1).
2. Completes one real flow (the person's browser is a requests.Session, the wallet `kych-wallet present`) with scope
   `openid` and the given claims, so that the access token schemathesis sends to /info and /userinfo is live and their
   success answers are checked too.
3. Runs PyPI schemathesis over every operation of the document, positive and negative data, and along its
   links (stateful), with the checks in CHECKS: no 5xx, and every status, content type, header and body as the document says.

Credentials come from the environment (never the command line, which `ps` shows): $KYCH_API_CLIENT_SECRET (the
confidential client's secret), $KYCH_API_MANAGEMENT_TOKEN (the verifier's bearer token); the access token is made
here. They reach schemathesis through Tests/api/schemathesis.toml, one per security scheme of the document.
Exits 0 when everything passed; prints schemathesis's output and exits 1 otherwise.

    KYCH_API_CLIENT_SECRET=… KYCH_API_MANAGEMENT_TOKEN=… schemathesis_run.py --base-url http://127.0.0.1:8080 \\
        --client-id api --redirect-uri https://rp.example/cb --wallet-bin .build/debug/kych-wallet --wallet DIR
"""

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
from urllib.parse import parse_qs, urlsplit

import requests
from openapi_spec_validator import validate

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "rp"))
from person import (FlowFailure, check, present_with_wallet, treat_loopback_as_secure_context,  # noqa: E402
                    wait_until_verified)

CHECKS = ",".join([
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
])


def validate_served_document(base_url):
    reply = requests.get(f"{base_url}/openapi.json", timeout=10)
    check(reply.status_code == 200, f"GET /openapi.json: HTTP {reply.status_code}")
    check(reply.headers.get("Content-Type", "").startswith("application/json"), "/openapi.json is not JSON")
    document = reply.json()
    validate(document)
    return document


def access_token(args, secret):
    """One real flow of the confidential client: its access token (scope openid and the claims)."""
    state = secrets.token_urlsafe(16)
    browser = requests.Session()
    reply = browser.get(f"{args.base_url}/authorize", headers={"Accept": "application/json"}, timeout=30, params={
        "response_type": "code", "client_id": args.client_id, "redirect_uri": args.redirect_uri,
        "scope": "openid " + args.scope, "state": state})
    check(reply.status_code == 200, f"GET /authorize: HTTP {reply.status_code} {reply.text[:300]}")
    started = reply.json()
    treat_loopback_as_secure_context(browser.cookies)
    present_with_wallet(args.wallet_bin, args.wallet, started["verification_deeplink"])
    wait_until_verified(browser, args.base_url, started["verification_id"], state)
    reply = browser.get(f"{args.base_url}/finalize/{started['verification_id']}", params={"state": state},
                        allow_redirects=False, timeout=30)
    check(reply.status_code == 302, f"GET /finalize: HTTP {reply.status_code} {reply.text[:300]}")
    code = parse_qs(urlsplit(reply.headers["Location"]).query).get("code", [""])[0]
    check(code, "/finalize redirected without a code")
    reply = requests.post(f"{args.base_url}/token", auth=(args.client_id, secret), timeout=30, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": args.redirect_uri})
    check(reply.status_code == 200, f"POST /token: HTTP {reply.status_code} {reply.text[:300]}")
    return reply.json()["access_token"]


def run_schemathesis(args, environment):
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", os.path.join(HERE, "schemathesis.toml"),
        "run", f"{args.base_url}/openapi.json", "--checks", CHECKS, "--mode", "all",
        "--max-examples", str(args.max_examples), "--seed", str(args.seed), "--workers", "1",
        "--phases", "examples,coverage,fuzzing,stateful", "--no-shrink", "--request-timeout", "35",
        "--suppress-health-check", "all", "--max-failures", "50",
    ]
    # schemathesis keeps a cache of crashes in its working directory: a temporary one, not the source tree.
    with tempfile.TemporaryDirectory() as directory:
        return subprocess.run(command, env=environment, capture_output=True, text=True, timeout=600, cwd=directory)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--client-id", required=True, help="a confidential client (client_secret_basic)")
    parser.add_argument("--redirect-uri", required=True)
    parser.add_argument("--scope", default="given_name age_over_18", help="the claims of the real flow")
    parser.add_argument("--wallet-bin", required=True, help="path of kych-wallet")
    parser.add_argument("--wallet", required=True, help="wallet folder holding a Beta-ID credential")
    parser.add_argument("--max-examples", type=int, default=25, help="test cases per operation and phase")
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    args.base_url = args.base_url.rstrip("/")
    secret = os.environ["KYCH_API_CLIENT_SECRET"]
    try:
        document = validate_served_document(args.base_url)
        environment = dict(os.environ, KYCH_API_CLIENT_ID=args.client_id, KYCH_API_ACCESS_TOKEN=access_token(args, secret))
    except FlowFailure as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        return 1
    result = run_schemathesis(args, environment)
    print(f"operations described: {sum(len(item) for item in document['paths'].values())}")
    print(result.stdout[-20000:])
    print(result.stderr[-5000:], file=sys.stderr)
    return 0 if result.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
