"""The Piccolo app: its tables and the migrations (``piccolo_migrations/`` in a checkout, the
packed copy in a wheel: ``careconnect.paths``)."""

from __future__ import annotations

from piccolo.conf.apps import AppConfig

from careconnect.paths import MIGRATIONS_DIR
from careconnect.tables import ALL_TABLES

APP_CONFIG = AppConfig(
    app_name="careconnect",
    migrations_folder_path=str(MIGRATIONS_DIR),
    table_classes=list(ALL_TABLES),
    migration_dependencies=[],
    commands=[],
)
