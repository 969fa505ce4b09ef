"""Verifies every DKIM signature of one .eml with dkimpy, answering its DNS queries for
SELECTOR._domainkey.DOMAIN with TXT records built from the given public keys (any other name gets
no record). Prints JSON: whether all verified, each signature's result and tags, the names looked
up; "tags" repeats the first signature's tags.

Usage: python3 dkim_verify.py MESSAGE.eml DOMAIN SELECTOR:KIND:PUBLIC_KEY...
  KIND is rsa (PUBLIC_KEY: base64 of the DER SubjectPublicKeyInfo) or ed25519 (base64 of the
  32-byte key, RFC 8463); Ed25519 needs PyNaCl.
"""

import json
import sys

import dkim


def main(path, domain, keys):
    with open(path, "rb") as f:
        message = f.read()
    records = {}
    for key in keys:
        selector, kind, public_key = key.split(":", 2)
        records[f"{selector}._domainkey.{domain}."] = f"v=DKIM1; k={kind}; p={public_key}".encode()
    lookups = []

    def dnsfunc(name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        lookups.append(name)
        return records.get(name)

    verifier = dkim.DKIM(message)
    count = sum(1 for name, _ in verifier.headers if name.lower() == b"dkim-signature")
    signatures = []
    for idx in range(count):
        error = None
        try:
            verified = verifier.verify(idx=idx, dnsfunc=dnsfunc)
        except dkim.DKIMException as e:
            # With idx, a mismatch is raised rather than returned.
            verified, error = False, str(e)
        tags = {}
        if verifier.signature_fields:
            tags = {k.decode(): v.decode() for k, v in verifier.signature_fields.items() if k != b"b"}
        signatures.append({"verified": bool(verified), "error": error, "tags": tags})
    print(json.dumps({
        "verified": count > 0 and all(s["verified"] for s in signatures),
        "signatures": signatures,
        "tags": signatures[0]["tags"] if signatures else {},
        "lookups": lookups,
    }))


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
