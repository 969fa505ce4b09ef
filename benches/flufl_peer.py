"""The flufl.bounce peer of the bounce-classification case of scripts/bench: GNU Mailman's bounce
detectors (PyPI flufl.bounce) on every message of a corpus, read into memory first and parsed
with the standard library in the timed loop (as digest parses each message), median of RUNS passes.

python3 benches/flufl_peer.py CORPUS_DIR RUNS  prints  median_s=... files=... found=...
"""
import email
import email.policy
import pathlib
import statistics
import sys
import time

from flufl.bounce import scan_message


def main() -> None:
    root, runs = pathlib.Path(sys.argv[1]), int(sys.argv[2])
    docs = [p.read_bytes() for p in sorted(root.glob("*.eml"))]
    times, found = [], 0
    for _ in range(max(runs, 1)):
        found = 0
        started = time.perf_counter()
        for doc in docs:
            try:
                found += len(scan_message(email.message_from_bytes(doc)))
            except Exception:  # a detector failing on one message: counted as nothing found
                pass
        times.append(time.perf_counter() - started)
    print(f"median_s={statistics.median(times):.4f} files={len(docs)} found={found}")


if __name__ == "__main__":
    main()
