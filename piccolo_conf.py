"""Piccolo configuration: the engine comes from DATABASE_URL (SQLite under ./var by default)."""

import os

from piccolo.conf.apps import AppRegistry

from careconnect.db import engine_from_url
from careconnect.settings import DEFAULT_DATABASE_URL

DB = engine_from_url(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)

APP_REGISTRY = AppRegistry(apps=["careconnect.piccolo_app"])
