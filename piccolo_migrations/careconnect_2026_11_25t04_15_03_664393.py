from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-25T04:15:03:664393"
VERSION = "1.38.0"
DESCRIPTION = "chat_unique_indexes"

# Piccolo has no composite unique constraint, so these are raw SQL; the same statements run
# on SQLite and PostgreSQL. (room, seq) keeps seqs unique per room; (sender_id, room,
# client_id) makes a resent message impossible to store twice.
FORWARD = (
    "CREATE UNIQUE INDEX chat_message_room_seq ON chat_message (room, seq)",
    "CREATE UNIQUE INDEX chat_message_sender_client_id ON chat_message (sender_id, room, client_id)",
)
BACKWARD = (
    "DROP INDEX IF EXISTS chat_message_room_seq",
    "DROP INDEX IF EXISTS chat_message_sender_client_id",
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="careconnect", description=DESCRIPTION)

    async def create_indexes():
        for statement in FORWARD:
            await engine_finder().run_ddl(statement)

    async def drop_indexes():
        for statement in BACKWARD:
            await engine_finder().run_ddl(statement)

    manager.add_raw(create_indexes)
    manager.add_raw_backwards(drop_indexes)
    return manager
