from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Boolean
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-01T08:44:18:475799"
VERSION = "1.38.0"
DESCRIPTION = "doctor_verification_and_history_sharing"

# Issue 15 (access): cc_doctor_profile.verification (pending | approved | rejected; every existing
# doctor becomes approved through the column default) and cc_user.share_history (a patient's
# consent to show visits with other doctors; off for everyone until they turn it on).


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="careconnect", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="User",
        tablename="cc_user",
        column_name="share_history",
        db_column_name="share_history",
        column_class_name="Boolean",
        column_class=Boolean,
        params={
            "default": False,
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

    manager.add_column(
        table_class_name="DoctorProfile",
        tablename="cc_doctor_profile",
        column_name="verification",
        db_column_name="verification",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 16,
            "default": "approved",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": True,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
