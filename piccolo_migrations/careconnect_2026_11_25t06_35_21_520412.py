from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-11-25T06:35:21:520412"
VERSION = "1.38.0"
DESCRIPTION = "doctor_no_overlap"

# A doctor's appointments that are not cancelled never overlap in time, even when the slot grid
# changes (e.g. 30-minute slots become 60-minute ones): the unique index on (doctor, starts_at)
# only catches equal starts. PostgreSQL enforces it with an exclusion constraint (btree_gist,
# created by booking_constraints); on SQLite every booking runs in a BEGIN IMMEDIATE
# transaction, so the overlap check inside it cannot race another writer.
FORWARD = (
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    "ALTER TABLE cc_appointment ADD CONSTRAINT cc_appointment_doctor_no_overlap "
    "EXCLUDE USING gist (doctor WITH =, tstzrange(starts_at, ends_at) WITH &&) WHERE (status <> 'cancelled')",
)
BACKWARD = ("ALTER TABLE cc_appointment DROP CONSTRAINT IF EXISTS cc_appointment_doctor_no_overlap",)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="careconnect", description=DESCRIPTION)

    async def create():
        engine = engine_finder()
        if isinstance(engine, PostgresEngine):
            for statement in FORWARD:
                await engine.run_ddl(statement)

    async def drop():
        engine = engine_finder()
        if isinstance(engine, PostgresEngine):
            for statement in BACKWARD:
                await engine.run_ddl(statement)

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
