#!/usr/bin/env python3
"""Client keys and RFC 7523 client assertions made by PyPI joserfc (no KyCH code), for KyCH's private_key_jwt tests.

    client_assertion.py keys  < {"name": "EC" | "RSA", ...}
        prints {"name": {"private": JWK, "public": JWK}, ...}: a new key pair per name, with a kid (RFC 7638 thumbprint).

    client_assertion.py sign  < [{"key": private JWK | null, "alg": "ES256", "client_id": "...", "aud": ...,
                                  "claims": {...}, "secret": "..."}, ...]
        prints a JSON array of compact JWTs. Each has iss = sub = client_id, aud, iat = now, exp = now + 60 and a
        random jti; "claims" overrides them (a null value removes the claim). alg "none" is signed with no key,
        "HS256" with "secret".
"""

import json
import sys
import time
import uuid
import warnings

from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, RSAKey, import_key


def make_keys(request):
    keys = {}
    for name, kty in request.items():
        key = ECKey.generate_key("P-256", auto_kid=True) if kty == "EC" else RSAKey.generate_key(2048, auto_kid=True)
        keys[name] = {"private": key.as_dict(private=True), "public": key.as_dict(private=False)}
    return keys


def sign(spec):
    now = int(time.time())
    claims = {"iss": spec["client_id"], "sub": spec["client_id"], "aud": spec["aud"], "iat": now, "exp": now + 60,
              "jti": str(uuid.uuid4())}
    for name, value in (spec.get("claims") or {}).items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    alg = spec["alg"]
    header = {"alg": alg}
    if alg == "none":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return jwt.encode(header, claims, None, algorithms=["none"])
    if alg == "HS256":
        return jwt.encode(header, claims, OctKey.import_key(spec["secret"]), algorithms=["HS256"])
    key = import_key(spec["key"])
    header["kid"] = key.kid
    return jwt.encode(header, claims, key, algorithms=[alg])


def main():
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    request = json.load(sys.stdin)
    if command == "keys":
        print(json.dumps(make_keys(request)))
    elif command == "sign":
        print(json.dumps([sign(spec) for spec in request]))
    else:
        sys.exit("usage: client_assertion.py keys|sign < request.json")


if __name__ == "__main__":
    main()
