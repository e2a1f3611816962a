"""Where the server finds what it ships and where it keeps what it writes, from a checkout or
from an installed wheel alike.

- From a checkout (``make run``; the package sits in ``<repo>/src/careconnect``): the migrations
  are ``<repo>/piccolo_migrations``, the web build ``<repo>/web/out``, and the home (``var/``,
  ``.env``, relative paths in settings) is the repository.
- From a wheel (``pip install careconnect``): the build hook (``hatch_build.py``) packed both
  into ``careconnect/_bundle/``; the home is ``CARECONNECT_HOME`` or else the directory the
  command runs in.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
_CHECKOUT = PACKAGE_DIR.parents[1]
IN_CHECKOUT = (_CHECKOUT / "pyproject.toml").is_file() and (_CHECKOUT / "piccolo_migrations").is_dir()
BUNDLE_DIR = PACKAGE_DIR / "_bundle"

MIGRATIONS_DIR = _CHECKOUT / "piccolo_migrations" if IN_CHECKOUT else BUNDLE_DIR / "migrations"
WEB_DIR = _CHECKOUT / "web" / "out" if IN_CHECKOUT else BUNDLE_DIR / "web"
HOME = Path(os.environ.get("CARECONNECT_HOME") or (_CHECKOUT if IN_CHECKOUT else Path.cwd())).resolve()
VAR_DIR = HOME / "var"
