import datetime as dt

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Timestamptz
from piccolo.table import Table

# Logins opened before session_limits get an absolute end and a last refresh too, or they could
# refresh forever: the defaults' strictest values (12 hours for doctors and admins, 720 for
# patients; issue 15), counted from when they started, so an older staff login ends at its next
# refresh. Their last refresh is their newest refresh token's. (A separate migration: Piccolo
# runs a migration's raw steps before its column changes.)
ID = "2026-12-01T09:35:12:000000"
VERSION = "1.38.0"
DESCRIPTION = "session_limits_for_open_logins"


class _Session(Table, tablename="cc_auth_session"):
    """Only for raw statements: the table as this migration knows it."""

    created_at = Timestamptz()


def _instant(value: object) -> dt.datetime:
    """A timestamp as either engine returns it (SQLite gives text for an aggregate)."""
    parsed = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


async def _limit_open_logins() -> None:
    rows = await _Session.raw(
        "SELECT s.id, s.created_at, u.role, "
        "(SELECT max(t.created_at) FROM cc_refresh_token t WHERE t.session = s.id) AS last_refresh "
        'FROM cc_auth_session s JOIN cc_user u ON u.id = s."user" '
        "WHERE s.kind = 'password' AND s.revoked_at IS NULL AND s.expires_at IS NULL"
    )
    for row in rows:
        created = _instant(row["created_at"])
        hours = 12 if row["role"] in ("doctor", "admin") else 720
        await _Session.raw(
            "UPDATE cc_auth_session SET expires_at = {}, last_refreshed_at = {} WHERE id = {}",
            created + dt.timedelta(hours=hours),
            _instant(row["last_refresh"]) if row["last_refresh"] is not None else created,
            row["id"],
        )


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="careconnect", description=DESCRIPTION)
    manager.add_raw(_limit_open_logins)
    return manager
