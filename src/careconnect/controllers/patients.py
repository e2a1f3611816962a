"""A treating doctor's view of a patient's history (the rule is in services/history.py)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get

from careconnect.domain.accounts.users import parse_uuid
from careconnect.domain.audit.service import patient_exists, record
from careconnect.domain.consultations.history import HistoryOut, patient_history
from careconnect.errors import ApiError
from careconnect.guards import current_principal, requires_doctor


class PatientsController(Controller):
    path = "/api/v1/patients"
    tags = ["patients"]
    guards = [requires_doctor]

    @get(
        "/{patient_id:str}/history",
        summary="A patient's visits, for a doctor with a live (not cancelled) appointment with them",
    )
    async def history(self, request: Request[Any, Any, Any], patient_id: str) -> HistoryOut:
        doctor = current_principal(request)
        pid = parse_uuid(patient_id, "patient")
        try:
            history = await patient_history(doctor, pid)
        except ApiError:
            await record(
                actor=doctor,
                action="history.read",
                resource_type="history",
                resource_id=pid,
                patient_id=pid if await patient_exists(pid) else None,
                outcome="not_found",
                scope=request.scope,
            )
            raise
        await record(
            actor=doctor,
            action="history.read",
            resource_type="history",
            resource_id=pid,
            patient_id=pid,
            outcome="success",
            scope=request.scope,
        )
        return history
