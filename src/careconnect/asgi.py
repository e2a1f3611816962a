"""The ASGI entry point for uvicorn: settings from the environment, once per worker process."""

from __future__ import annotations

from litestar import Litestar

from careconnect.app import create_app
from careconnect.logs import configure_logging
from careconnect.settings import load_settings


def build_app() -> Litestar:
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_json)
    return create_app(settings)
