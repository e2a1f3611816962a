"""What an integration's bot asks about itself: the rooms it is invited to now."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.di import Provide

from careconnect.domain.consultations.deps import provide_consultations
from careconnect.domain.consultations.schemas import InvitedRooms
from careconnect.domain.consultations.service import Caller, ConsultationsService
from careconnect.guards import current_principal, requires_auth


class IntegrationsController(Controller):
    path = "/api/v1/integrations"
    tags = ["integrations"]
    guards = [requires_auth]
    dependencies = {"consultations": Provide(provide_consultations, sync_to_thread=False)}

    @get("/me/rooms", summary="The rooms this bot is invited to now (bots only)")
    async def my_rooms(self, request: Request[Any, Any, Any], consultations: ConsultationsService) -> InvitedRooms:
        return await consultations.invited_rooms(Caller(current_principal(request), request.scope))
