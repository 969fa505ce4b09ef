"""Counts the entries of feed documents with the reference peer, Python feedparser, and prints
them as one JSON object: {path: {"entries": n, "bozo": bool, "version": "rss20"…}}.

JSON Feed documents are counted from their `items` array (the feedparser release on PyPI reads
no JSON Feed), with "version": "json".

Usage: python3 feed_entries.py < paths (one per line)
"""

import json
import sys

import feedparser


def count(path):
    with open(path, "rb") as f:
        data = f.read()
    if data.lstrip()[:1] == b"{":
        try:
            items = json.loads(data.decode("utf-8", "replace")).get("items")
        except (ValueError, AttributeError):
            return {"entries": 0, "bozo": True, "version": "json"}
        return {"entries": len(items) if isinstance(items, list) else 0, "bozo": False,
                "version": "json"}
    parsed = feedparser.parse(data)
    return {"entries": len(parsed.entries), "bozo": bool(parsed.bozo),
            "version": parsed.get("version", "")}


def main():
    print(json.dumps({path: count(path) for path in sys.stdin.read().splitlines() if path}))


if __name__ == "__main__":
    main()
