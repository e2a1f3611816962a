"""The ASGI entry point for uvicorn: settings from the environment, once per worker process."""

from __future__ import annotations

import gc

from careconnect.app import create_app
from careconnect.hub import HubFastPath
from careconnect.logs import configure_logging
from careconnect.settings import load_settings


def freeze_startup_objects() -> None:
    """Put everything built at startup (modules, routes, the app, the hub) out of the collector's reach.

    A full collection walked that whole heap: 27-57 ms with the worker under load, a stall for
    every socket (docs/benchmarks.md). Frozen objects are never traversed again; what is made
    after startup is collected as usual. Once per worker, after the last startup hook.
    """
    gc.collect()
    gc.freeze()


def build_app() -> HubFastPath:
    """The application, with the hub's sockets taking the fast path past Litestar's middleware."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_json)
    app = create_app(settings)
    app.on_startup.append(freeze_startup_objects)  # after the hub's start, which the plugin added
    return HubFastPath(app, app.state.hub)
