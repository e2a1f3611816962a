#!/usr/bin/env bash
# Create bench/.venv-peers from bench/requirements-peers.txt when it is missing or stale.
# The peers (python-socketio, Django Channels, plain Litestar channels, websockets) and matplotlib
# live only here, so the application's own venv never gains them.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv-peers"
req="$here/requirements-peers.txt"
stamp="$venv/.installed"
if [[ -f "$stamp" && "$stamp" -nt "$req" ]]; then
  exit 0
fi
python="${PYTHON:-python3}"
if command -v uv >/dev/null 2>&1; then
  [[ -x "$venv/bin/python" ]] || uv venv --python "$python" "$venv"
  uv pip install --python "$venv/bin/python" --quiet -r "$req"
else
  [[ -x "$venv/bin/python" ]] || "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
fi
touch "$stamp"
echo "bench: peers venv ready at $venv" >&2
