"""Test tooling for the Swift DEFLATE code: Python's zlib as the independent implementation.

Usage: python3 zlib_crosscheck.py COMMAND < request.json
  compress    {"data": base64url, "level": int, "wbits": int} -> base64url
  decompress  {"data": base64url, "wbits": int} -> base64url
wbits 15 is the zlib format, -15 raw DEFLATE. Test tooling only; never used by the product.
"""
import base64
import json
import sys
import zlib


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url_encode(data):
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def main():
    command = sys.argv[1]
    request = json.load(sys.stdin)
    data = b64url_decode(request["data"])
    if command == "compress":
        compressor = zlib.compressobj(request["level"], zlib.DEFLATED, request["wbits"])
        print(b64url_encode(compressor.compress(data) + compressor.flush()))
    elif command == "decompress":
        print(b64url_encode(zlib.decompress(data, request["wbits"])))
    else:
        sys.exit(f"unknown command {command}")


main()
