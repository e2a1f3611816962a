"""Admin: webhooks (API.md 1.1 "Integrations"). The rules are in ``domain/webhooks/service.py``."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.di import Provide
from litestar.params import JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from careconnect.domain.webhooks.deps import provide_webhooks
from careconnect.domain.webhooks.schemas import WebhookCreated, WebhookIn, WebhookPage
from careconnect.domain.webhooks.service import WebhooksService
from careconnect.guards import current_principal, requires_admin


class WebhooksController(Controller):
    path = "/api/v1/admin/webhooks"
    tags = ["admin"]
    guards = [requires_admin]
    dependencies = {"webhooks": Provide(provide_webhooks, sync_to_thread=False)}

    @post("/", status_code=HTTP_201_CREATED, summary="Register a webhook (its signing secret is shown once)")
    async def create_webhook(
        self, request: Request[Any, Any, Any], data: JSONBody[WebhookIn], webhooks: WebhooksService
    ) -> WebhookCreated:
        return await webhooks.create(current_principal(request), data, request.scope)

    @get("/", summary="The webhooks, newest first (never their secrets)")
    async def list_webhooks(
        self, webhooks: WebhooksService, limit: int | None = None, cursor: str | None = None
    ) -> WebhookPage:
        return await webhooks.page(limit=limit, cursor=cursor)

    @delete("/{webhook_id:str}", status_code=HTTP_204_NO_CONTENT, summary="Delete a webhook: no more deliveries")
    async def delete_webhook(self, request: Request[Any, Any, Any], webhook_id: str, webhooks: WebhooksService) -> None:
        await webhooks.delete(current_principal(request), webhook_id, request.scope)
