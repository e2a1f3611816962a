"""A treating doctor's view of a patient's history (the rule is in domain/consultations/history.py)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.di import Provide

from careconnect.domain.consultations.deps import provide_history
from careconnect.domain.consultations.history import HistoryService
from careconnect.domain.consultations.schemas import HistoryOut
from careconnect.guards import current_principal, requires_doctor


class PatientsController(Controller):
    path = "/api/v1/patients"
    tags = ["patients"]
    guards = [requires_doctor]
    dependencies = {"patient_history": Provide(provide_history, sync_to_thread=False)}

    @get(
        "/{patient_id:str}/history",
        summary="A patient's visits, for a doctor with a live (not cancelled) appointment with them",
    )
    async def history(
        self, request: Request[Any, Any, Any], patient_history: HistoryService, patient_id: str
    ) -> HistoryOut:
        return await patient_history.read(current_principal(request), patient_id, request.scope)
