from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-01T22:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "messages_audit_index"

# The audit log's newest-first pages over the messages that are their own records
# (domain/audit/messages.py). Partial: only those rows; the same statement on SQLite and
# PostgreSQL. A time-ordered key grows at the index's right edge.
FORWARD = ("CREATE INDEX chat_message_audit_at ON chat_message (created_at) WHERE sender_address IS NOT NULL",)
BACKWARD = ("DROP INDEX IF EXISTS chat_message_audit_at",)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="careconnect", description=DESCRIPTION)

    async def create_index():
        for statement in FORWARD:
            await engine_finder().run_ddl(statement)

    async def drop_index():
        for statement in BACKWARD:
            await engine_finder().run_ddl(statement)

    manager.add_raw(create_index)
    manager.add_raw_backwards(drop_index)
    return manager
