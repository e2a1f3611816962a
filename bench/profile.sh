#!/usr/bin/env bash
# Profile the hub's server process under one benchmark point with py-spy.
#
#   bench/profile.sh OUT.raw [bench.run arguments...]
#   bench/profile.sh /tmp/clinic.raw --workloads clinic --clinic-rooms 1000 --duration 40 --reuse-rooms
#
# Starts `python -m bench.run --targets careconnect ...`, waits until the load generator runs,
# lets the connections settle (PROFILE_DELAY, default 30 s), records the `careconnect serve`
# process for PROFILE_SECONDS (default 15) at 250 Hz as collapsed stacks (`-f raw`), and prints
# the functions with the most samples (self and cumulative). py-spy: `uv tool install py-spy`
# (or pip); it is not a project dependency.
set -euo pipefail
out="$1"; shift
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/.."
pyspy="$(command -v py-spy || echo "$HOME/.local/bin/py-spy")"
.venv/bin/python -m bench.run --targets careconnect --no-plot "$@" &
bench=$!
for _ in $(seq 1 1200); do
  pgrep -f -- "-m bench[.]loadgen" >/dev/null && break
  sleep 0.5
done
sleep "${PROFILE_DELAY:-30}"
server="$(pgrep -f "careconnect serve" | head -1)"
"$pyspy" record -p "$server" -d "${PROFILE_SECONDS:-15}" -r 250 -f raw -o "$out" >/dev/null
wait "$bench"
.venv/bin/python - "$out" <<'PY'
import collections, sys
own, cum, total = collections.Counter(), collections.Counter(), 0
for line in open(sys.argv[1]):
    stack, _, n = line.rstrip().rpartition(" ")
    total += int(n)
    names = [f.split(" (")[0] + " (" + f.split(" (")[-1].split(":")[0].split("/")[-1] + ")" for f in stack.split(";")]
    own[names[-1]] += int(n)
    for name in set(names):
        cum[name] += int(n)
print(f"{total} samples")
for title, counter in (("self", own), ("cumulative", cum)):
    print(f"-- {title}")
    for name, n in counter.most_common(25):
        print(f"{100 * n / total:5.1f}%  {name}")
PY
