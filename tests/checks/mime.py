"""Reads one .eml with Python's own MIME parser (email, policy.default) and prints what it
found as JSON: top-level header counts, decoded headers, parse defects, the part structure and
the decoded text and HTML bodies.

Usage: python3 mime.py MESSAGE.eml
"""

import json
import sys
from collections import Counter
from email import message_from_binary_file, policy


def main(path):
    with open(path, "rb") as f:
        msg = message_from_binary_file(f, policy=policy.default)
    defects = [f"{part.get_content_type()}: {d!r}" for part in msg.walk() for d in part.defects]
    decoded = {}
    for name in ("From", "To", "Reply-To", "Subject", "List-Id", "List-Unsubscribe"):
        value = msg[name]
        decoded[name.lower()] = None if value is None else str(value)
    bodies = {}
    for kind in ("plain", "html"):
        part = msg.get_body(preferencelist=(kind,))
        bodies[kind] = None if part is None else part.get_content()
    print(json.dumps({
        "headers": Counter(name.lower() for name in msg.keys()),
        "decoded": decoded,
        "defects": defects,
        "structure": [
            {"type": part.get_content_type(), "charset": part.get_content_charset()}
            for part in msg.walk()
        ],
        "text": bodies["plain"],
        "html": bodies["html"],
    }))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
