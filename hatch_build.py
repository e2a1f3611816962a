"""Packs the migrations and the web build into the wheel (``careconnect/_bundle/``), so an
installed server runs from any directory (``careconnect.paths`` finds them there).

Only for a standard wheel: an editable install (``uv sync``) reads them from the checkout.
A wheel built without the web build would serve no pages, so that build fails and says why.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class BundleHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "careconnect-bundle"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        root = Path(self.root)
        web = root / "web" / "out"
        if not (web / "index.html").is_file():
            raise RuntimeError("web/out/index.html is missing: run `make web` before building the wheel")
        build_data["force_include"][str(root / "piccolo_migrations")] = "careconnect/_bundle/migrations"
        build_data["force_include"][str(web)] = "careconnect/_bundle/web"
