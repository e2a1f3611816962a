"""Providers for the video controller (``Provide(provide_video)``)."""

from __future__ import annotations

from careconnect.domain.video.service import VideoService
from careconnect.settings import Settings


def provide_video(settings: Settings) -> VideoService:
    return VideoService(settings)
