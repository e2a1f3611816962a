"""docs/client.md's examples are whole scripts that parse and import only names the client has."""

from __future__ import annotations

import ast
import re

import careconnect_client
from tests.infra import REPO_ROOT


def test_every_example_in_the_client_guide_parses_and_names_real_exports() -> None:
    text = (REPO_ROOT / "docs" / "client.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    assert len(blocks) >= 12
    for block in blocks:
        tree = ast.parse(block)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "careconnect_client":
                missing = [alias.name for alias in node.names if not hasattr(careconnect_client, alias.name)]
                assert not missing, (missing, block[:200])
    assert (REPO_ROOT / "docs" / "client.md").name in (REPO_ROOT / "README.md").read_text()
    assert "client.md" in (REPO_ROOT / "docs" / "integrations.md").read_text()
