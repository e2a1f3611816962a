"""Piccolo configuration (``PICCOLO_CONF=careconnect.piccolo_conf``): the engine comes from
DATABASE_URL (SQLite under ``var/`` by default). The repository's ``piccolo_conf.py`` re-exports
it for Piccolo's own CLI run from a checkout."""

import os

from piccolo.conf.apps import AppRegistry

from careconnect.db import engine_from_url
from careconnect.settings import DEFAULT_DATABASE_URL

DB = engine_from_url(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)

APP_REGISTRY = AppRegistry(apps=["careconnect.piccolo_app"])
