"""The server API for backends: an integration's bot posts into a room over HTTP
(API.md 1.1 "Integrations"). The rules are in ``domain/consultations/posting.py``."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post
from litestar.di import Provide
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from careconnect.domain.consultations.deps import provide_server_messages
from careconnect.domain.consultations.posting import AckOut, MessageIn, ServerMessages
from careconnect.domain.consultations.service import Caller
from careconnect.guards import current_principal, requires_auth
from careconnect.openapi import problems


class RoomsController(Controller):
    path = "/api/v1/rooms"
    tags = ["integrations"]
    guards = [requires_auth]
    dependencies = {"server_messages": Provide(provide_server_messages, sync_to_thread=False)}

    @post(
        "/{room:str}/messages",
        status_code=HTTP_201_CREATED,
        summary="Post a message into a room as the integration's bot (scope publish; idempotent by id)",
        description="201 with the ack when stored now; 200 with the original ack when this id was already stored.",
        responses=problems(409, 429),
    )
    async def post_message(
        self, request: Request[Any, Any, Any], room: str, data: JSONBody[MessageIn], server_messages: ServerMessages
    ) -> Response[AckOut]:
        ack, created = await server_messages.post(Caller(current_principal(request), request.scope), room, data)
        return Response(ack, status_code=HTTP_201_CREATED if created else HTTP_200_OK)
