"""``careconnect-client`` is its own distribution: typed, and needing websockets and msgspec only."""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.infra import REPO_ROOT
from tests.test_wheel import uv

PACKAGE = REPO_ROOT / "packages" / "careconnect-client"
ALLOWED = {"websockets", "msgspec", "careconnect_client"}


def test_the_client_imports_only_the_standard_library_websockets_and_msgspec() -> None:
    outside = set()
    for source in (PACKAGE / "src" / "careconnect_client").glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top not in ALLOWED and top not in sys.stdlib_module_names and top != "__future__":
                    outside.add(f"{source.name}: {name}")
    assert not outside, outside


def test_the_client_wheel_is_typed_and_declares_two_dependencies(tmp_path: Path) -> None:
    subprocess.run(
        [uv(), "build", "--package", "careconnect-client", "--wheel", "--out-dir", str(tmp_path)],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )
    (wheel,) = tmp_path.glob("careconnect_client-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        requires = [
            line.split(":", 1)[1].strip()
            for line in archive.read(metadata).decode().splitlines()
            if line.startswith("Requires-Dist:")
        ]
    assert "careconnect_client/py.typed" in names
    assert sorted(r.split(">")[0].split("=")[0] for r in requires) == ["msgspec", "websockets"], requires
    assert not [n for n in names if n.startswith("careconnect/")]  # none of the server
