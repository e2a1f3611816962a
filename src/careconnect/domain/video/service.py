"""ICE servers for a consultation's video call: STUN and TURN from settings, for its members."""

from __future__ import annotations

import time
from collections.abc import Callable

from careconnect.domain.audit.service import patient_of_appointment, record
from careconnect.domain.consultations.rooms import membership
from careconnect.domain.consultations.service import Caller
from careconnect.domain.errors import Conflict, NotFound
from careconnect.domain.video.schemas import IceServer, IceServers
from careconnect.domain.video.turn import turn_credential
from careconnect.settings import Settings

CALL_STATES = frozenset({"checked_in", "in_progress"})  # the waiting room fetches them ahead of the call


class VideoService:
    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock

    async def ice_servers(self, caller: Caller, consultation_id: str) -> IceServers:
        """The ICE servers for a member of a consultation that is checked in or in progress.

        Anyone else gets 404 (audited, as every consultation read); a visit in another state 409.
        """
        found = await membership(caller.principal, consultation_id)
        if found is None:
            await record(
                actor=caller.principal,
                action="consultation.ice_servers",
                resource_type="consultation",
                resource_id=consultation_id[:200],
                outcome="not_found",
                patient_id=await patient_of_appointment(consultation_id),
                scope=caller.scope,
            )
            raise NotFound("No such consultation.")
        if found.status not in CALL_STATES:
            raise Conflict(
                f"The consultation is {found.status}: video is available while it is checked in or in progress.",
                code="invalid_state",
            )
        settings = self.settings
        servers = []
        if settings.stun_urls:
            servers.append(IceServer(urls=list(settings.stun_urls)))
        if settings.turn_urls and settings.turn_secret:
            username, credential = turn_credential(
                settings.turn_secret, caller.principal.id, settings.turn_ttl_s, self.clock()
            )
            servers.append(IceServer(urls=list(settings.turn_urls), username=username, credential=credential))
        return IceServers(ice_servers=servers, ttl_s=settings.turn_ttl_s)
