"""The application's side of the hub: JWT sign-in, consultation rooms, the SQL store, events."""

from __future__ import annotations

import time
from collections.abc import Mapping
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import msgspec

from careconnect.db import split_pool
from careconnect.domain.accounts.sessions import SessionCheck, SessionStatus
from careconnect.domain.attachments.messages import AttachingStore, AttachmentClaims
from careconnect.domain.audit import service as audit
from careconnect.domain.consultations.chat_store import sql_message_store
from careconnect.domain.consultations.rooms import WRITABLE_STATES, appointment_id_of, members, membership, room_name
from careconnect.domain.video import calls
from careconnect.guards import AccountDisabled, needs_mfa_enrolment, principal_from_token
from careconnect.hub import (
    AuthFailed,
    Frame,
    Hub,
    HubSettings,
    MemoryBroker,
    MemoryPresence,
    MemorySendLimiter,
    Principal,
    RedisPresence,
    RedisSendLimiter,
    RoomDenied,
    RoomInfo,
    RoomState,
    UserRef,
)
from careconnect.hub.brokers.redis import RedisBroker
from careconnect.hub.origin import header
from careconnect.hub.store import Appended, NewMessage
from careconnect.principal import Principal as AppPrincipal
from careconnect.request_context import TrustedProxies, settle
from careconnect.security import InvalidToken
from careconnect.settings import Settings
from careconnect.tracing import Tracing


class JwtAuthenticator:
    """Access tokens as for the REST API; the same per-session revocation check."""

    def __init__(self, settings: Settings, session_check: SessionCheck) -> None:
        self.settings = settings
        self.session_check = session_check

    async def authenticate(self, token: str) -> Principal:
        try:
            app_principal = await principal_from_token(self.settings, self.session_check, token)
        except AccountDisabled:
            raise AuthFailed("account disabled", 4403) from None
        except InvalidToken as exc:
            raise AuthFailed(f"not authenticated: {exc}") from None
        if app_principal.needs_mfa_enrolment:
            raise AuthFailed("second factor required: enrol one first", 4403)
        return Principal(
            id=app_principal.id,
            role=app_principal.role,
            name=app_principal.name,
            session_id=app_principal.session_id,
            expires_at=float(app_principal.expires_at),
        )

    async def check(self, principal: Principal) -> None:
        status, mfa_active = await self.session_check.state(principal.session_id)
        if status is SessionStatus.disabled:
            raise AuthFailed("account disabled", 4403)
        if needs_mfa_enrolment(self.settings, principal.role, mfa_active):
            raise AuthFailed("second factor required: enrol one first", 4403)
        if status is not SessionStatus.active:
            raise AuthFailed("session ended")


def _app_principal(principal: Principal) -> AppPrincipal:
    return AppPrincipal(id=principal.id, role=principal.role, name=principal.name, session_id=principal.session_id)


class ConsultationRooms:
    """``consultation:<appointment id>``: the patient, the doctor and invited bots.

    Write checks are answered from a cache (``ttl`` seconds) that a ``room_state`` event, a
    bot's eviction, and a broker reconnect (events may have been missed) clear at once on every
    worker, so closing a room takes effect immediately. The TTL is only the last safety net:
    without the cache every send would cost a membership query (17% of the server's CPU in the
    clinic profile, docs/benchmarks.md).
    """

    def __init__(self, ttl: float = 60.0) -> None:
        self.ttl = ttl
        self._cache: dict[tuple[str, str], tuple[float, str | None]] = {}

    def is_room_name(self, room: str) -> bool:
        """Rooms have one spelling (``RoomNames``): ``consultation:<lower-case canonical UUID>``."""
        return appointment_id_of(room) is not None

    async def join(self, principal: Principal, room: str) -> RoomInfo:
        appointment_id = appointment_id_of(room)
        if appointment_id is None:
            raise RoomDenied("not_found", "rooms are named consultation:<appointment id>")
        found = await membership(_app_principal(principal), appointment_id)
        if found is None:
            await audit.record(
                actor=_app_principal(principal),
                action="messages.read",
                resource_type="messages",
                resource_id=appointment_id,
                patient_id=await audit.patient_of_appointment(appointment_id),
                outcome="denied",
                ip=principal.address,
            )
            raise RoomDenied("forbidden", "you are not a member of this consultation")
        self._cache[(room, principal.id)] = (time.monotonic(), found.status)
        await audit.record(
            actor=_app_principal(principal),
            action="messages.read",
            resource_type="messages",
            resource_id=appointment_id,
            patient_id=found.patient_id,
            outcome="success",
            ip=principal.address,
        )
        people = [UserRef(**m) for m in await members(appointment_id)]
        return RoomInfo(state=found.status, members=people)

    async def check_write(self, principal: Principal, room: str) -> None:
        status = await self._status(principal, room)
        if status is None:
            raise RoomDenied("forbidden", "you are not a member of this consultation")
        if status not in WRITABLE_STATES:
            raise RoomDenied("room_closed", f"the consultation is {status}: the room is read-only")

    async def check_signal(self, principal: Principal, room: str) -> None:
        """Video calls (``SignalPolicy``): members, only while the consultation is in progress."""
        status = await self._status(principal, room)
        if status is None:
            raise RoomDenied("forbidden", "you are not a member of this consultation")
        if status != "in_progress":
            raise RoomDenied("room_closed", f"the consultation is {status}: calls are only while it is in progress")

    async def call_started(self, principal: Principal, room: str, caller_id: str, callee_id: str) -> None:
        await calls.record_call(_app_principal(principal), room, caller_id, callee_id, None, principal.address)

    async def call_ended(self, principal: Principal, room: str, caller_id: str, callee_id: str, seconds: float) -> None:
        await calls.record_call(_app_principal(principal), room, caller_id, callee_id, seconds, principal.address)

    async def _status(self, principal: Principal, room: str) -> str | None:
        """The consultation's state for a member of ``room`` (None: no member), cached ``ttl`` seconds."""
        key = (room, principal.id)
        hit = self._cache.get(key)
        if hit is None or time.monotonic() - hit[0] > self.ttl:
            appointment_id = appointment_id_of(room)
            found = await membership(_app_principal(principal), appointment_id) if appointment_id else None
            status = found.status if found else None
            if len(self._cache) > 100_000:
                self._cache.clear()
            self._cache[key] = (time.monotonic(), status)
        else:
            status = hit[1]
        return status

    def forget(self, room: str) -> None:
        for key in [k for k in self._cache if k[0] == room]:
            del self._cache[key]


class AppointmentEvent(Frame, tag="appointment"):
    """``{"type":"appointment","appointment":…}``: the application's event, opaque to the hub."""

    appointment: Any


class NotificationEvent(Frame, tag="notification"):
    """``{"type":"notification","notification":…}``: a stored notification, opaque to the hub."""

    notification: Any


class InvitedEvent(Frame, tag="invited"):
    """``{"type":"invited","room":…,"appointment":…}``: a bot was invited into a consultation."""

    room: str
    appointment: Any


class HubEvents:
    """Server events from REST handlers, pushed through the hub to every worker."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def appointment_changed(self, appointment: msgspec.Struct, user_ids: list[str]) -> None:
        payload = msgspec.to_builtins(appointment)
        for user_id in dict.fromkeys(user_ids):
            await self.hub.publish_event(f"user:{user_id}", AppointmentEvent(appointment=payload))

    async def notification_created(self, user_id: str, notification: msgspec.Struct) -> None:
        payload = msgspec.to_builtins(notification)
        await self.hub.publish_event(f"user:{user_id}", NotificationEvent(notification=payload))

    async def invited(self, user_id: str, room: str, appointment: msgspec.Struct) -> None:
        payload = msgspec.to_builtins(appointment)
        await self.hub.publish_event(f"user:{user_id}", InvitedEvent(room=room, appointment=payload))

    async def room_state_changed(self, appointment_id: str, state: str) -> None:
        room = room_name(appointment_id)
        await self.hub.publish_event(room, RoomState(room=room, state=state))

    async def disconnect_user(self, user_id: str) -> None:
        await self.hub.disconnect_user(user_id)

    async def post_message(self, message: NewMessage) -> Appended:
        """A message from the server API, stored and delivered as a socket's send (``Hub.post``)."""
        return await self.hub.post(message)

    async def may_send(self, user_id: str) -> bool:
        """The per-user send limit every socket of ``user_id`` shares (``WS_USER_SEND_LIMIT``)."""
        return await self.hub.user_may_send(user_id)

    async def evict(self, user_id: str, room: str) -> None:
        await self.hub.evict(user_id, room)


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _normal_origin(origin: str) -> str:
    """``scheme://host[:port]`` in lower case without the scheme's default port; anything that
    is not a plain origin (``null``, a path, user info) comes back as it is and matches nothing."""
    raw = origin.strip()
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        return raw
    scheme, host = parts.scheme.lower(), parts.hostname or ""
    if scheme not in _DEFAULT_PORTS or not host or parts.username is not None or parts.path not in ("", "/"):
        return raw
    if parts.query or parts.fragment:
        return raw
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}" if port in (None, _DEFAULT_PORTS[scheme]) else f"{scheme}://{host}:{port}"


def _first_header(scope: Mapping[str, Any], name: bytes) -> str:
    """The first comma-separated value of header ``name`` (a proxy chain's first hop), or ""."""
    return (header(scope, name) or "").split(",")[0].strip()


def server_origin(scope: Mapping[str, Any], trusted: TrustedProxies | None = None) -> str:
    """The origin the handshake reached: the socket's scheme (ws -> http, wss -> https) and the Host header.

    Behind a proxy in ``TRUSTED_PROXIES`` (which may end TLS), its ``X-Forwarded-Proto`` and
    ``X-Forwarded-Host`` name the origin the browser saw; from anyone else they are ignored.
    """
    scheme = "https" if scope.get("scheme") in ("wss", "https") else "http"
    host = _first_header(scope, b"host")
    client = scope.get("client")
    if trusted and client and trusted.trusts(str(client[0])):
        proto = _first_header(scope, b"x-forwarded-proto").lower()
        if proto in ("http", "https", "ws", "wss"):
            scheme = "https" if proto in ("https", "wss") else "http"
        host = _first_header(scope, b"x-forwarded-host") or host
    if not host and scope.get("server"):
        server_host, server_port = scope["server"][0], scope["server"][1]
        host = f"{server_host}:{server_port}" if server_port else str(server_host)
    return _normal_origin(f"{scheme}://{host}")


class SameOriginOrCors:
    """``/ws`` accepts pages of its own origin and of ``CORS_ORIGINS`` (API.md 1.1 Hardening)."""

    def __init__(self, cors_origins: tuple[str, ...], trusted: TrustedProxies | None = None) -> None:
        self.allowed = frozenset(_normal_origin(o) for o in cors_origins)
        self.trusted = trusted

    def allows(self, origin: str, scope: Mapping[str, Any]) -> bool:
        wanted = _normal_origin(origin)
        return wanted in self.allowed or wanted == server_origin(scope, self.trusted)


def client_address(trusted: TrustedProxies, scope: Mapping[str, Any]) -> str:
    """A socket's client ip, as the REST API finds it (``TRUSTED_PROXIES``, ``X-Forwarded-For``)."""
    return str(settle(scope, trusted)["client_ip"])


def build_hub(settings: Settings, session_check: SessionCheck, tracing: Tracing | None = None) -> Hub:
    broker: Any
    presence: Any
    # One socket may always use its whole WS_SEND_LIMIT, so the per-user limit is never below it.
    user_limit = max(settings.ws_user_send_limit, settings.ws_send_limit)
    limiter: Any
    if settings.redis_url:
        cluster = settings.redis_cluster
        broker = RedisBroker(settings.redis_url, cluster=cluster)
        presence = RedisPresence(settings.redis_url, worker_id=broker.worker_id, cluster=cluster)
        limiter = RedisSendLimiter(settings.redis_url, user_limit, settings.ws_send_window_s, cluster=cluster)
    else:
        broker = MemoryBroker()
        presence = MemoryPresence()
        limiter = MemorySendLimiter(user_limit, settings.ws_send_window_s)
    trusted = TrustedProxies(settings.trusted_proxies)
    hub = Hub(
        authenticator=JwtAuthenticator(settings, session_check),
        policy=ConsultationRooms(),
        client_address=partial(client_address, trusted),
        store=_traced(
            tracing,
            AttachingStore(
                sql_message_store(
                    settings.database_url,
                    audit=True,
                    pool_mode=settings.database_pool_mode,
                    pool_size=split_pool(settings.database_pool_size)[1],
                )
            ),
        ),
        attachments=AttachmentClaims(),  # issue 20: files in messages
        broker=broker,
        presence=presence,
        send_limiter=limiter,
        origin_policy=SameOriginOrCors(settings.cors_origins, trusted),
        settings=HubSettings(
            heartbeat_s=settings.ws_heartbeat_s,
            hello_timeout_s=settings.ws_hello_timeout_s,
            max_frame_bytes=settings.ws_max_frame_bytes,
            send_limit=settings.ws_send_limit,
            send_window_s=settings.ws_send_window_s,
            user_send_limit=user_limit,
            queue_size=settings.ws_queue_size,
            max_rooms=settings.ws_max_rooms,
            signal_limit=settings.ws_signal_limit,
            signal_window_s=settings.ws_signal_window_s,
        ),
        tracer=tracing.hub_tracer() if tracing is not None else None,
    )
    return hub


def _traced(tracing: Tracing | None, store: Any) -> Any:
    """The store, its commits traced when tracing is on."""
    return tracing.store(store) if tracing is not None else store
