from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-01T14:55:01:374752"
VERSION = "1.38.0"
DESCRIPTION = "chat_message_kind"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="careconnect", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="ChatMessage",
        tablename="chat_message",
        column_name="kind",
        db_column_name="kind",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 16,
            "default": "text",
            "null": False,
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
