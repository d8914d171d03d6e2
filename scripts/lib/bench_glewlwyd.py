#!/usr/bin/env python3
"""The peer of scripts/bench: glewlwyd (Debian's package, 2.7.5) on its own SQLite file, set up through its admin
API as an OpenID Connect provider (plugin `oidc`, HS256 tokens) with one confidential client and one user. Then
makes N authorization codes as a browser would (the user logged in and consented once, then `/auth` per code) and
writes them to a file, for `kych-bench token` and `kych-bench info` with glewlwyd's paths.

  bench_glewlwyd.py --url http://127.0.0.1:18490 --codes N --output FILE --client-secret SECRET
"""
import argparse
import concurrent.futures
import urllib.parse

import requests

PLUGIN = "glwd"
REDIRECT = "https://client.example/cb"


def check(response, what):
    if response.status_code != 200:
        raise SystemExit("glewlwyd: %s answered HTTP %d: %s" % (what, response.status_code, response.text[:300]))
    return response


def configure(url, secret):
    admin = requests.Session()
    check(admin.post(url + "/api/auth/", json={"username": "admin", "password": "password"}), "the admin login")
    # A password login counts for the scope for a day (max age 0 would ask for the password again at every /auth).
    check(admin.put(url + "/api/scope/openid", json={
        "name": "openid", "display_name": "Open ID", "description": "Open ID Connect scope", "password_required": True,
        "password_max_age": 86400, "scheme": {}}), "the openid scope")
    check(admin.post(url + "/api/mod/plugin/", json={
        "module": "oidc", "name": PLUGIN, "display_name": PLUGIN, "enabled": True,
        "parameters": {
            "iss": url, "jwt-type": "sha", "jwt-key-size": "256", "key": "bench-oidc-signing-secret-0123456789",
            "access-token-duration": 3600, "refresh-token-duration": 1209600, "code-duration": 600,
            "allow-non-oidc": True, "auth-type-code-enabled": True, "auth-type-refresh-enabled": True,
        }}), "adding the oidc plugin")
    check(admin.post(url + "/api/client/", json={
        "client_id": "bench", "name": "bench", "password": secret, "confidential": True, "enabled": True,
        "token_endpoint_auth_method": ["client_secret_post"], "redirect_uri": [REDIRECT],
        "authorization_type": ["code", "refresh_token"], "scope": []}), "adding the client")
    check(admin.post(url + "/api/user/", json={
        "username": "bench-user", "name": "Bench User", "email": "bench@example.org", "password": "bench-user-password",
        "scope": ["openid"], "enabled": True}), "adding the user")
    user = requests.Session()
    check(user.post(url + "/api/auth/", json={"username": "bench-user", "password": "bench-user-password"}), "the user login")
    check(user.put(url + "/api/auth/grant/bench", json={"scope": "openid"}), "the user's consent")
    return user


def code(user, url, number):
    query = urllib.parse.urlencode({"response_type": "code", "client_id": "bench", "redirect_uri": REDIRECT,
                                    "scope": "openid", "state": "s%d" % number, "nonce": "n%d" % number})
    # g_continue: the user already logged in and consented (without it glewlwyd shows its login page first).
    response = user.get(url + "/api/%s/auth?%s&g_continue" % (PLUGIN, query), allow_redirects=False)
    location = response.headers.get("Location", "")
    codes = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query).get("code")
    if response.status_code != 302 or not codes:
        raise SystemExit("glewlwyd: /auth answered HTTP %d, Location %r" % (response.status_code, location[:200]))
    return codes[0]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--codes", type=int, required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--configured", action="store_true", help="only make codes (the plugin, client and user exist)")
    args = parser.parse_args()
    if args.configured:
        user = requests.Session()
        check(user.post(args.url + "/api/auth/", json={"username": "bench-user", "password": "bench-user-password"}), "the user login")
    else:
        user = configure(args.url, args.client_secret)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        codes = list(pool.map(lambda n: code(user, args.url, n), range(args.codes)))
    with open(args.output, "w") as f:
        f.write("".join(c + "\n" for c in codes))


if __name__ == "__main__":
    main()
