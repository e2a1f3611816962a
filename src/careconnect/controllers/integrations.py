"""Integrations as doctors and bots see them: what a doctor can invite, and the rooms a bot is
invited to now."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.di import Provide

from careconnect.domain.consultations.deps import provide_consultations
from careconnect.domain.consultations.schemas import Invitable, InvitedRooms
from careconnect.domain.consultations.service import Caller, ConsultationsService
from careconnect.guards import current_principal, requires_auth


class IntegrationsController(Controller):
    path = "/api/v1/integrations"
    tags = ["integrations"]
    guards = [requires_auth]
    dependencies = {"consultations": Provide(provide_consultations, sync_to_thread=False)}

    @get("/", summary="The integrations a doctor can invite into a consultation (doctors and admins)")
    async def invitable(self, request: Request[Any, Any, Any], consultations: ConsultationsService) -> list[Invitable]:
        return await consultations.invitable(Caller(current_principal(request), request.scope))

    @get("/me/rooms", summary="The rooms this bot is invited to now (bots only)")
    async def my_rooms(self, request: Request[Any, Any, Any], consultations: ConsultationsService) -> InvitedRooms:
        return await consultations.invited_rooms(Caller(current_principal(request), request.scope))
