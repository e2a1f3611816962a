#!/usr/bin/env bash
# Interleaved A/B of the hub alone: an earlier commit against the working tree, same bench point.
#
#   bench/ab.sh REV PAIRS [bench.run arguments...]
#   bench/ab.sh HEAD~1 3 --workloads clinic --clinic-rooms 100
#
# Checks REV out into a temporary git worktree and runs `python -m bench.run --targets
# careconnect --reuse-rooms --no-plot ARGS` PAIRS times for each version, alternating (REV
# first), with REV's `src/` first on the hub's PYTHONPATH for its runs (HUB_PYTHONPATH: the server's
# processes only; the load generator is the working tree's); prints the hub's result line of
# each run. Alternating pairs, because one VM moves by 1.5-3x at p99 from minute to minute:
# compare within a pair. The bench code itself is the working tree's for both.
set -euo pipefail
rev="$1"; pairs="$2"; shift 2
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/.."
old="$(mktemp -d)"
trap 'git worktree remove --force "$old" >/dev/null 2>&1 || rm -rf "$old"' EXIT
git worktree add --detach -f "$old" "$rev" >/dev/null 2>&1
for _ in $(seq 1 "$pairs"); do
  for side in old new; do
    if [ "$side" = old ]; then pp="$old/src"; label="$rev"; else pp=""; label="working tree"; fi
    line=$(HUB_PYTHONPATH="$pp" .venv/bin/python -m bench.run --targets careconnect --reuse-rooms --no-plot "$@" 2>&1 \
      | grep "^CareConnect hub" || echo "(no result)")
    printf '%-14s %s\n' "$label" "$line"
  done
done
