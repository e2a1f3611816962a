"""Piccolo configuration (``PICCOLO_CONF=careconnect.piccolo_conf``): the engine comes from
DATABASE_URL (SQLite under ``var/`` by default). The repository's ``piccolo_conf.py`` re-exports
it for Piccolo's own CLI run from a checkout."""

import os

from piccolo.conf.apps import AppRegistry

from careconnect.db import engine_from_url
from careconnect.settings import DEFAULT_DATABASE_URL

# Migrations usually connect to PostgreSQL itself; DATABASE_POOL_MODE=transaction lets them go
# through a transaction-mode pooler too.
DB = engine_from_url(
    os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
    pool_mode="transaction" if os.environ.get("DATABASE_POOL_MODE", "").strip().lower() == "transaction" else "session",
)

APP_REGISTRY = AppRegistry(apps=["careconnect.piccolo_app"])
