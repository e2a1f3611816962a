"""The consultation over HTTP: lifecycle (check-in, admit, complete, no-show), messages, notes,
summary and invited bots. The rules are in ``domain/consultations/service.py``."""

from __future__ import annotations

from typing import Annotated, Any, cast

from litestar import Controller, MediaType, Request, Response, delete, get, post, put
from litestar.di import Provide
from litestar.params import HeaderParameter, JSONBody, Parameter
from litestar.status_codes import HTTP_204_NO_CONTENT

from careconnect.domain.consultations.deps import provide_consultations
from careconnect.domain.consultations.schemas import (
    DocumentIn,
    DocumentOut,
    InviteIn,
    MessagePage,
    Participant,
    QueueOut,
    message_page_json,
)
from careconnect.domain.consultations.service import Caller, ConsultationsService
from careconnect.guards import current_principal, requires_auth
from careconnect.hub.bounds import MAX_COUNT
from careconnect.openapi import problems


def _caller(request: Request[Any, Any, Any]) -> Caller:
    return Caller(current_principal(request), request.scope)


# The visit's state does not allow it (invalid_state), e.g. a check-in after the end.
_STATE_PROBLEMS = problems((409, "The visit's state does not allow this now (code invalid_state)."))
# The text changed since the version the edit was based on; the problem has current_version.
_EDIT_PROBLEMS = problems((409, "The text changed since your version: reload it (the problem has current_version)."))


class ConsultationController(Controller):
    path = "/api/v1/consultations"
    tags = ["consultations"]
    guards = [requires_auth]
    dependencies = {"consultations": Provide(provide_consultations, sync_to_thread=False)}

    # The lifecycle answers the appointment (``AppointmentOut``), published as any value.
    @post(
        "/{consultation_id:str}/check-in",
        status_code=200,
        summary="Patient enters the waiting room",
        responses=_STATE_PROBLEMS,
    )
    async def check_in(
        self, request: Request[Any, Any, Any], consultations: ConsultationsService, consultation_id: str
    ) -> Any:
        return await consultations.check_in(_caller(request), consultation_id)

    @post(
        "/{consultation_id:str}/start", status_code=200, summary="Doctor admits the patient", responses=_STATE_PROBLEMS
    )
    async def start(
        self, request: Request[Any, Any, Any], consultations: ConsultationsService, consultation_id: str
    ) -> Any:
        return await consultations.start(_caller(request), consultation_id)

    @post(
        "/{consultation_id:str}/complete",
        status_code=200,
        summary="Doctor ends the visit; the room turns read-only",
        responses=_STATE_PROBLEMS,
    )
    async def complete(
        self, request: Request[Any, Any, Any], consultations: ConsultationsService, consultation_id: str
    ) -> Any:
        return await consultations.complete(_caller(request), consultation_id)

    @post(
        "/{consultation_id:str}/no-show",
        status_code=200,
        summary="Doctor marks a no-show (10 min after start)",
        responses=_STATE_PROBLEMS,
    )
    async def no_show(
        self, request: Request[Any, Any, Any], consultations: ConsultationsService, consultation_id: str
    ) -> Any:
        return await consultations.no_show(_caller(request), consultation_id)

    @get("/{consultation_id:str}/queue", summary="The visit's place in the doctor's waiting room queue")
    async def queue(
        self, request: Request[Any, Any, Any], consultations: ConsultationsService, consultation_id: str
    ) -> QueueOut:
        return await consultations.queue(_caller(request), consultation_id)

    @get("/{consultation_id:str}/messages", summary="The room's stored messages, paged by seq")
    async def messages(
        self,
        request: Request[Any, Any, Any],
        consultations: ConsultationsService,
        consultation_id: str,
        after_seq: Annotated[int | None, Parameter(ge=0, le=MAX_COUNT)] = None,
        before_seq: Annotated[int | None, Parameter(ge=1, le=MAX_COUNT)] = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
    ) -> Response[MessagePage]:
        page = await consultations.messages(
            _caller(request), consultation_id, after_seq=after_seq, before_seq=before_seq, limit=limit
        )
        # The hub's own frame bytes, as the socket sends them (Litestar sends bytes as they are).
        return Response(cast("MessagePage", message_page_json(page)), media_type=MediaType.JSON)

    @get("/{consultation_id:str}/notes", summary="The doctor's private notes (the doctor only)")
    async def read_notes(
        self, request: Request[Any, Any, Any], consultations: ConsultationsService, consultation_id: str
    ) -> DocumentOut:
        return await consultations.read_notes(_caller(request), consultation_id)

    @put(
        "/{consultation_id:str}/notes",
        summary="Save private notes (send the version you edited)",
        responses=_EDIT_PROBLEMS,
    )
    async def write_notes(
        self,
        request: Request[Any, Any, Any],
        consultations: ConsultationsService,
        consultation_id: str,
        data: JSONBody[DocumentIn],
        if_match: Annotated[
            str | None,
            HeaderParameter(
                name="If-Match", description='The version you edited, as "3" (instead of the body\'s version).'
            ),
        ] = None,
    ) -> DocumentOut:
        return await consultations.write_notes(_caller(request), consultation_id, data, if_match)

    @get("/{consultation_id:str}/summary", summary="The visit summary (doctor and patient)")
    async def read_summary(
        self, request: Request[Any, Any, Any], consultations: ConsultationsService, consultation_id: str
    ) -> DocumentOut:
        return await consultations.read_summary(_caller(request), consultation_id)

    @put("/{consultation_id:str}/summary", summary="Write the visit summary (the doctor)", responses=_EDIT_PROBLEMS)
    async def write_summary(
        self,
        request: Request[Any, Any, Any],
        consultations: ConsultationsService,
        consultation_id: str,
        data: JSONBody[DocumentIn],
        if_match: Annotated[
            str | None,
            HeaderParameter(
                name="If-Match", description='The version you edited, as "3" (instead of the body\'s version).'
            ),
        ] = None,
    ) -> DocumentOut:
        return await consultations.write_summary(_caller(request), consultation_id, data, if_match)

    @get("/{consultation_id:str}/participants", summary="Bots invited to the room (the doctor)")
    async def participants(
        self, request: Request[Any, Any, Any], consultations: ConsultationsService, consultation_id: str
    ) -> list[Participant]:
        return await consultations.participants(_caller(request), consultation_id)

    @post(
        "/{consultation_id:str}/participants",
        status_code=201,
        summary="Invite a bot into the room (the doctor)",
        responses=problems(409),
    )
    async def invite(
        self,
        request: Request[Any, Any, Any],
        consultations: ConsultationsService,
        consultation_id: str,
        data: JSONBody[InviteIn],
    ) -> Participant:
        return await consultations.invite(_caller(request), consultation_id, data.client_id)

    @delete(
        "/{consultation_id:str}/participants/{client_id:str}",
        status_code=HTTP_204_NO_CONTENT,
        summary="Remove an invited bot (the doctor)",
    )
    async def remove(
        self, request: Request[Any, Any, Any], consultations: ConsultationsService, consultation_id: str, client_id: str
    ) -> None:
        await consultations.remove(_caller(request), consultation_id, client_id)
