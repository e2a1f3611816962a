"""The Piccolo app: its tables and the repo-root ``piccolo_migrations/`` folder."""

from __future__ import annotations

from pathlib import Path

from piccolo.conf.apps import AppConfig

from careconnect.tables import ALL_TABLES

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "piccolo_migrations"

APP_CONFIG = AppConfig(
    app_name="careconnect",
    migrations_folder_path=str(MIGRATIONS_DIR),
    table_classes=list(ALL_TABLES),
    migration_dependencies=[],
    commands=[],
)
