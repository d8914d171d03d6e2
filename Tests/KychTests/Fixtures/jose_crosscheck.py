"""Test tooling for the Swift JOSE code: JWE, JWK thumbprints and JWS verification through joserfc.

Usage: python3 jose_crosscheck.py COMMAND < request.json
  encrypt     {"jwk": public JWK, "kid": str, "plaintext": base64url, "header": {...}} -> compact JWE
  decrypt     {"jwk": private JWK, "jwe": compact JWE} -> base64url plaintext
  thumbprint  {"jwk": JWK} -> RFC 7638 thumbprint
  verify      {"jwks": JWK Set, "jws": compact JWS} -> {"verified": {"header": {...}, "payload": JSON}}
              or {"rejected": reason}; the key is the one the JWS's kid names in the set
Test tooling only; never used by the product.
"""
import base64
import json
import sys

try:
    from joserfc import jwe, jws
    from joserfc.errors import JoseError
    from joserfc.jwk import ECKey, KeySet
except ImportError as error:
    print(f"jose_crosscheck.py needs the PyPI package joserfc (pip install joserfc): {error}", file=sys.stderr)
    sys.exit(3)


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url_encode(data):
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def main():
    command = sys.argv[1]
    request = json.load(sys.stdin)
    if command == "verify":
        try:
            token = jws.deserialize_compact(request["jws"], KeySet.import_key_set(request["jwks"]),
                                            algorithms=["ES256", "RS256"])
        except JoseError as error:
            print(json.dumps({"rejected": f"{type(error).__name__}: {error}"}))
        else:
            print(json.dumps({"verified": {"header": token.headers(), "payload": json.loads(token.payload)}}))
        return
    key = ECKey.import_key(request["jwk"])
    if command == "encrypt":
        header = {"alg": "ECDH-ES", "enc": "A256GCM", "kid": request["kid"], **request.get("header", {})}
        print(jwe.encrypt_compact(header, b64url_decode(request["plaintext"]), key,
                                  algorithms=["ECDH-ES", "A256GCM", "DEF"]))
    elif command == "decrypt":
        result = jwe.decrypt_compact(request["jwe"], key, algorithms=["ECDH-ES", "A256GCM", "DEF"])
        print(b64url_encode(result.plaintext))
    elif command == "thumbprint":
        print(key.thumbprint())
    else:
        sys.exit(f"unknown command {command}")


main()
