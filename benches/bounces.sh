#!/usr/bin/env bash
# Bounce classification throughput on the bounce corpus (../shared/corpora/bounces, ~500 real
# bounces, complaints and auto-replies from Sisimai's collection): `digest inbound classify --json`
# on every message against Sisimai (Debian libsisimai-perl) and flufl.bounce (PyPI), interleaved in
# the same run. digest is timed as a whole process (start, reading and classifying the files on
# every core, JSON output); the peers in-process, on one core, without their interpreter's start
# (benches/sisimai_peer.pl, flufl_peer.py).
#
# Run alone: benches/bounces.sh [RUNS]   (scripts/bench runs it too)
# Prints: files=N ours_s=… sisimai_s=… flufl_s=…  (medians of RUNS passes, default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-${BENCH_RUNS:-5}}
corpus=${BOUNCE_CORPUS:-$PWD/../shared/corpora/bounces}
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if ! perl -MSisimai -e1 2>/dev/null; then
  echo "installing libsisimai-perl" >&2
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq libsisimai-perl >&2
fi
if ! python3 -c "import flufl.bounce" 2>/dev/null; then
  echo "installing flufl.bounce (PyPI)" >&2
  python3 -m pip install -q --disable-pip-version-check "flufl.bounce==6.0.0" >&2
fi
digest=${DIGEST_BIN:-$PWD/target/release/digest}
[ -x "$digest" ] || cargo build --release --locked --bin digest >&2
files=("$corpus"/*.eml)
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
field() { sed "s/.*$1=\([0-9.]*\).*/\1/"; }
ours=() sisimai=() flufl=()
for _ in $(seq "$runs"); do
  # A pass of ours takes tens of milliseconds, so one scheduling hiccup is a large share of it:
  # five processes a pass, all kept for the median.
  for _ in 1 2 3 4 5; do
    t0=$(date +%s%N)
    "$digest" inbound classify --json "${files[@]}" >/dev/null
    t1=$(date +%s%N)
    ours+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')")
  done
  sisimai+=("$(perl benches/sisimai_peer.pl "$corpus" 1 | field median_s)")
  flufl+=("$(python3 benches/flufl_peer.py "$corpus" 1 | field median_s)")
done
echo "files=${#files[@]} ours_s=$(median "${ours[@]}") sisimai_s=$(median "${sisimai[@]}") flufl_s=$(median "${flufl[@]}")"
