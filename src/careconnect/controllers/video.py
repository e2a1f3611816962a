"""Video visits over HTTP: the ICE servers for a consultation's call (``domain/video``)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import Provide

from careconnect.domain.consultations.service import Caller
from careconnect.domain.video.deps import provide_video
from careconnect.domain.video.schemas import IceServers
from careconnect.domain.video.service import VideoService
from careconnect.guards import current_principal, requires_auth
from careconnect.openapi import problems


class VideoController(Controller):
    path = "/api/v1/consultations"
    tags = ["video"]
    guards = [requires_auth]
    dependencies = {"video": Provide(provide_video, sync_to_thread=False)}

    @get(
        "/{consultation_id:str}/ice-servers",
        summary="STUN and TURN servers for the call (time-limited credentials)",
        responses=problems(409),
    )
    async def ice_servers(
        self, request: Request[Any, Any, Any], video: VideoService, consultation_id: str
    ) -> Response[IceServers]:
        servers = await video.ice_servers(Caller(current_principal(request), request.scope), consultation_id)
        return Response(servers, headers={"Cache-Control": "no-store"})  # a credential: never cached
