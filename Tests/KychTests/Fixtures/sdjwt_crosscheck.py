"""Test tooling for the Swift SD-JWT code: the PyPI package sd-jwt (the IETF reference
implementation) as the independent issuer, holder and verifier.

Usage: python3 sdjwt_crosscheck.py COMMAND < request.json
  issue_and_present  {"issuer_jwk": private JWK, "issuer_did": str, "holder_jwk": private JWK,
                      "claims": {...}, "sd": [claim names], "disclose": [claim names],
                      "typ": str, "aud": str, "nonce": str} -> compact presentation with KB-JWT
  verify             {"presentation": str, "aud": str, "nonce": str}
                     -> {"verified": claims} or {"rejected": reason}
The issuer key is looked up from the did:jwk in the issuer JWT's kid.
Test tooling only; never used by the product.
"""
import base64
import json
import sys

try:
    from jwcrypto.jwk import JWK
    from sd_jwt.common import SDObj
    from sd_jwt.holder import SDJWTHolder
    from sd_jwt.issuer import SDJWTIssuer
    from sd_jwt.verifier import SDJWTVerifier
except ImportError as error:
    print(f"sdjwt_crosscheck.py needs the PyPI package sd-jwt (pip install sd-jwt): {error}", file=sys.stderr)
    sys.exit(3)


def issuer_key_from_kid(_issuer, header):
    did = header["kid"].split("#")[0]
    prefix = "did:jwk:"
    if not did.startswith(prefix):
        raise ValueError("only did:jwk issuers are supported here")
    encoded = did[len(prefix):]
    return JWK.from_json(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))


def issue_and_present(request):
    sd = set(request["sd"])
    claims = {SDObj(name) if name in sd else name: value for name, value in request["claims"].items()}
    issuer = SDJWTIssuer(
        claims,
        JWK(**request["issuer_jwk"]),
        holder_key=JWK(**request["holder_jwk"]),
        extra_header_parameters={"typ": request["typ"], "kid": request["issuer_did"] + "#0"},
    )
    holder = SDJWTHolder(issuer.sd_jwt_issuance)
    holder.create_presentation(
        {name: True for name in request["disclose"]},
        nonce=request["nonce"],
        aud=request["aud"],
        holder_key=JWK(**request["holder_jwk"]),
    )
    return holder.sd_jwt_presentation


def verify(request):
    try:
        verifier = SDJWTVerifier(
            request["presentation"],
            issuer_key_from_kid,
            expected_aud=request["aud"],
            expected_nonce=request["nonce"],
        )
        return json.dumps({"verified": verifier.get_verified_payload()})
    except Exception as error:  # a verification decision, not a tooling failure
        return json.dumps({"rejected": f"{type(error).__name__}: {error}"})


def main():
    command = sys.argv[1]
    request = json.load(sys.stdin)
    if command == "issue_and_present":
        print(issue_and_present(request))
    elif command == "verify":
        print(verify(request))
    else:
        sys.exit(f"unknown command {command}")


main()
