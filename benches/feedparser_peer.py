"""The peer of benches/feeds.rs: Python feedparser on every file of a corpus, read into memory
first, timed the same way (median of RUNS passes).

python3 benches/feedparser_peer.py CORPUS_DIR RUNS  prints  median_s=... files=...
"""
import pathlib
import statistics
import sys
import time

import feedparser


def main() -> None:
    root, runs = pathlib.Path(sys.argv[1]), int(sys.argv[2])
    docs = [p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and p.name != "LICENSE"]
    times = []
    for _ in range(max(runs, 1)):
        started = time.perf_counter()
        for doc in docs:
            feedparser.parse(doc)
        times.append(time.perf_counter() - started)
    print(f"median_s={statistics.median(times):.4f} files={len(docs)}")


if __name__ == "__main__":
    main()
