from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-11-25T05:22:56:909115"
VERSION = "1.38.0"
DESCRIPTION = "booking_constraints"

# Constraints Piccolo cannot express, in raw SQL. Both engines: one live appointment per
# doctor and start (a partial unique index; cancelling frees the slot), one booking per
# idempotency key per patient, one invitation per bot and room. PostgreSQL also gets an
# exclusion constraint so a patient's live appointments never overlap.
COMMON = (
    "CREATE UNIQUE INDEX cc_appointment_doctor_slot ON cc_appointment (doctor, starts_at) "
    "WHERE status <> 'cancelled'",
    "CREATE UNIQUE INDEX cc_booking_key_patient_key ON cc_booking_key (patient, key)",
    "CREATE UNIQUE INDEX cc_room_bot_once ON cc_room_bot (appointment, bot_user)",
)
POSTGRES = (
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    "ALTER TABLE cc_appointment ADD CONSTRAINT cc_appointment_patient_no_overlap "
    "EXCLUDE USING gist (patient WITH =, tstzrange(starts_at, ends_at) WITH &&) WHERE (status <> 'cancelled')",
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="careconnect", description=DESCRIPTION)

    async def create():
        engine = engine_finder()
        for statement in COMMON:
            await engine.run_ddl(statement)
        if isinstance(engine, PostgresEngine):
            for statement in POSTGRES:
                await engine.run_ddl(statement)

    async def drop():
        engine = engine_finder()
        if isinstance(engine, PostgresEngine):
            await engine.run_ddl(
                "ALTER TABLE cc_appointment DROP CONSTRAINT IF EXISTS cc_appointment_patient_no_overlap"
            )
        for name in ("cc_appointment_doctor_slot", "cc_booking_key_patient_key", "cc_room_bot_once"):
            await engine.run_ddl(f"DROP INDEX IF EXISTS {name}")

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
