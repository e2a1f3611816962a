from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Timestamptz
from piccolo.columns.indexes import IndexMethod

# SESSION_MAX_HOURS and SESSION_IDLE_MINUTES (issue 15): a login's absolute end and its last refresh.
ID = "2026-12-01T08:47:44:179003"
VERSION = "1.38.0"
DESCRIPTION = "session_limits"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="careconnect", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="AuthSession",
        tablename="cc_auth_session",
        column_name="expires_at",
        db_column_name="expires_at",
        column_class_name="Timestamptz",
        column_class=Timestamptz,
        params={
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="AuthSession",
        tablename="cc_auth_session",
        column_name="last_refreshed_at",
        db_column_name="last_refreshed_at",
        column_class_name="Timestamptz",
        column_class=Timestamptz,
        params={
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
