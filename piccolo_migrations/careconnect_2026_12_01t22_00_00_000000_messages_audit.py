from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-01T22:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "messages_are_their_own_audit_records"

# A stored message becomes its own messages.write audit record (domain/audit/messages.py):
# the row gains the sender's client address. Messages stored before keep their cc_audit_entry
# rows and a NULL address, so no message is counted twice and none is lost from the log. The
# next migration indexes the records by time (Piccolo runs a migration's raw steps before its
# column changes, so the index needs a migration of its own).


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="careconnect", description=DESCRIPTION)

    manager.add_column(
        table_class_name="ChatMessage",
        tablename="chat_message",
        column_name="sender_address",
        db_column_name="sender_address",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 64,
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
