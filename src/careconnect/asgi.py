"""The ASGI entry point for uvicorn: settings from the environment, once per worker process."""

from __future__ import annotations

from careconnect.app import create_app
from careconnect.hub import HubFastPath
from careconnect.logs import configure_logging
from careconnect.settings import load_settings


def build_app() -> HubFastPath:
    """The application, with the hub's sockets taking the fast path past Litestar's middleware."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_json)
    app = create_app(settings)
    return HubFastPath(app, app.state.hub)
