"""The signed-in user's notifications (the bell) and mail preferences: HTTP over ``Inbox``."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, patch, post
from litestar.di import Provide
from litestar.params import JSONBody

from careconnect.domain.notifications.deps import provide_inbox
from careconnect.domain.notifications.inbox import Inbox
from careconnect.domain.notifications.schemas import (
    NotificationOut,
    NotificationPage,
    NotificationPreferences,
    NotificationPreferencesPatch,
)
from careconnect.guards import current_principal, requires_auth


class NotificationsController(Controller):
    path = "/api/v1"
    tags = ["notifications"]
    guards = [requires_auth]
    dependencies = {"inbox": Provide(provide_inbox, sync_to_thread=False)}

    @get(
        "/notifications",
        summary="My notifications, newest first (unread=true: only the unread)",
        operation_id="notifications_list",
    )
    async def list_notifications(
        self,
        request: Request[Any, Any, Any],
        inbox: Inbox,
        unread: bool = False,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> NotificationPage:
        return await inbox.page(current_principal(request).id, unread=unread, limit=limit, cursor=cursor)

    @post(
        "/notifications/read-all",
        status_code=200,
        summary="Mark all my notifications read",
        operation_id="notifications_mark_all_read",
    )
    async def read_all(self, request: Request[Any, Any, Any], inbox: Inbox) -> NotificationPage:
        return await inbox.read_all(current_principal(request).id)

    @post(
        "/notifications/{notification_id:str}/read",
        status_code=200,
        summary="Mark one of my notifications read",
        operation_id="notifications_mark_read",
    )
    async def read(self, request: Request[Any, Any, Any], notification_id: str, inbox: Inbox) -> NotificationOut:
        return await inbox.read(current_principal(request).id, notification_id)

    @get(
        "/users/me/notification-preferences", summary="Which mails I get", operation_id="notifications_get_preferences"
    )
    async def preferences(self, request: Request[Any, Any, Any], inbox: Inbox) -> NotificationPreferences:
        return await inbox.preferences(current_principal(request).id)

    @patch("/users/me/notification-preferences", summary="Turn booking, reminder or summary mails on or off")
    async def set_preferences(
        self, request: Request[Any, Any, Any], data: JSONBody[NotificationPreferencesPatch], inbox: Inbox
    ) -> NotificationPreferences:
        return await inbox.set_preferences(current_principal(request).id, data)
