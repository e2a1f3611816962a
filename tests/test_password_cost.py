"""The server's password hashing cost, as a fresh process has it (the in-process tests lower it
in tests/conftest.py to save minutes of hashing; a server never does)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.infra import REPO_ROOT

PROBE = """
import json
from careconnect import security
h = security._hasher
made = security._hash("probe-password-0123")
print(json.dumps({"time_cost": h.time_cost, "memory_cost": h.memory_cost, "parallelism": h.parallelism,
                  "prefix": made.split("$")[1:4], "dummy": security._DUMMY_HASH.split("$")[3]}))
"""


def test_a_server_hashes_with_argon2id_at_argon2_cffis_recommended_cost() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=REPO_ROOT, check=True)
    cost = json.loads(done.stdout)
    # argon2-cffi's defaults, RFC 9106's second recommended option: 3 passes over 64 MiB, 4 lanes
    assert cost["time_cost"] >= 3 and cost["memory_cost"] >= 65536 and cost["parallelism"] >= 1, cost
    assert cost["prefix"] == [
        "argon2id",
        "v=19",
        f"m={cost['memory_cost']},t={cost['time_cost']},p={cost['parallelism']}",
    ]
    assert cost["dummy"] == cost["prefix"][2]  # an unknown email costs what a wrong password does
