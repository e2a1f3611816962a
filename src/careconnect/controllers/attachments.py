"""Files in the consultation over HTTP (API.md 1.1 "Attachments"); the rules are in
``domain/attachments/service.py``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.exceptions import InternalServerException
from litestar.response import Stream

from careconnect.domain.attachments.deps import provide_attachments
from careconnect.domain.attachments.disposition import content_disposition
from careconnect.domain.attachments.schemas import AttachmentOut, Download
from careconnect.domain.attachments.service import AttachmentsService
from careconnect.domain.errors import BadRequest
from careconnect.guards import current_principal, requires_auth
from careconnect.openapi import problems


async def _body(request: Request[Any, Any, Any]) -> AsyncIterator[bytes]:
    """The request body as it arrives; a client gone halfway is its bad request, not a 500."""
    try:
        async for chunk in request.stream():
            yield chunk
    except InternalServerException:  # Litestar's "client disconnected prematurely"
        raise BadRequest("The upload ended before the file did; send it again.", code="incomplete") from None


def _stream(download: Download) -> Stream:
    return Stream(
        download.chunks,
        media_type=download.content_type,
        headers={
            "Content-Length": str(download.size),
            "Content-Disposition": content_disposition(download.filename, inline=download.inline),
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


class AttachmentsController(Controller):
    path = "/api/v1"
    tags = ["attachments"]
    guards = [requires_auth]
    dependencies = {"attachments": Provide(provide_attachments, sync_to_thread=False)}

    @post(
        "/consultations/{consultation_id:str}/attachments",
        status_code=201,
        summary="Upload a photo or PDF to the consultation (multipart field file)",
        request_max_body_size=None,  # ATTACHMENT_MAX_BYTES is counted while the body streams in
        responses=problems(409, 413, 415, 422),
    )
    async def upload(
        self, request: Request[Any, Any, Any], attachments: AttachmentsService, consultation_id: str
    ) -> AttachmentOut:
        length = request.headers.get("content-length")
        return await attachments.upload(
            current_principal(request),
            request.scope,
            consultation_id,
            content_type=request.headers.get("content-type", ""),
            content_length=int(length) if length and length.isdigit() else None,
            body=_body(request),
        )

    @get("/consultations/{consultation_id:str}/attachments", summary="The visit's files")
    async def list_files(
        self, request: Request[Any, Any, Any], attachments: AttachmentsService, consultation_id: str
    ) -> list[AttachmentOut]:
        return await attachments.for_consultation(current_principal(request), request.scope, consultation_id)

    @get(
        "/attachments/{attachment_id:str}",
        summary="A file of a consultation (its members)",
        operation_id="attachments_download",
    )
    async def read(
        self, request: Request[Any, Any, Any], attachments: AttachmentsService, attachment_id: str
    ) -> Stream:
        return _stream(await attachments.download(current_principal(request), request.scope, attachment_id))

    @get("/attachments/{attachment_id:str}/thumbnail", summary="An image's thumbnail (JPEG, at most 320 px)")
    async def thumbnail(
        self, request: Request[Any, Any, Any], attachments: AttachmentsService, attachment_id: str
    ) -> Stream:
        return _stream(
            await attachments.download(current_principal(request), request.scope, attachment_id, thumbnail=True)
        )
