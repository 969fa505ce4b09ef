"""Verifies the DKIM signature of one .eml with dkimpy, answering its DNS query for
SELECTOR._domainkey.DOMAIN with a TXT record built from the given public key (any other name
gets no record). Prints JSON: whether it verified, the signature's tags and the names looked up.

Usage: python3 dkim_verify.py MESSAGE.eml SELECTOR DOMAIN PUBLIC_KEY_BASE64_DER
"""

import json
import sys

import dkim
from dkim.util import parse_tag_value


def main(path, selector, domain, public_key):
    with open(path, "rb") as f:
        message = f.read()
    record = f"{selector}._domainkey.{domain}."
    lookups = []

    def dnsfunc(name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        lookups.append(name)
        return f"v=DKIM1; k=rsa; p={public_key}".encode() if name == record else None

    verifier = dkim.DKIM(message)
    verified = verifier.verify(dnsfunc=dnsfunc)
    tags = {}
    if verifier.signature_fields:
        tags = {k.decode(): v.decode() for k, v in verifier.signature_fields.items() if k != b"b"}
    print(json.dumps({"verified": bool(verified), "tags": tags, "lookups": lookups}))


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    main(*sys.argv[1:])
