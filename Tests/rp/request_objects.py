#!/usr/bin/env python3
"""Request objects (RFC 9101) made by an independent implementation, PyPI joserfc (no KyCH code).

Reads a JSON job on stdin:

    {"objects": [{"name": "good", "signer": "client" | "other" | "none", "claims": {...},
                  "typ": "oauth-authz-req+jwt"}, ...]}

makes two P-256 keys (the client's, kid "client-key", and another one, kid "other-key"), and prints one JSON
object on stdout: {"jwks": the client's public JWK Set, "objects": {name: compact JWS}}. "client" and "other" sign
with ES256 by that key; "none" makes an unsecured JWS (alg none, empty signature).
"""

import json
import sys
import warnings

from joserfc import jws, jwt
from joserfc.jwk import ECKey


def main():
    job = json.load(sys.stdin)
    keys = {"client": ECKey.generate_key("P-256", parameters={"kid": "client-key"}),
            "other": ECKey.generate_key("P-256", parameters={"kid": "other-key"})}
    objects = {}
    for spec in job["objects"]:
        header = {"alg": "ES256"}
        if spec.get("typ"):
            header["typ"] = spec["typ"]
        signer = spec["signer"]
        if signer == "none":
            header["alg"] = "none"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")     # joserfc warns that alg none is deprecated: that is the point
                token = jws.serialize_compact(header, json.dumps(spec["claims"]).encode(), None, algorithms=["none"])
        else:
            key = keys[signer]
            header["kid"] = key.kid
            token = jwt.encode(header, spec["claims"], key)
        objects[spec["name"]] = token
    json.dump({"jwks": {"keys": [keys["client"].as_dict(private=False)]}, "objects": objects}, sys.stdout)


if __name__ == "__main__":
    main()
