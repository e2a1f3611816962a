"""The ASGI entry point for uvicorn: settings from the environment, once per worker process."""

from __future__ import annotations

import gc
from functools import partial

from careconnect.app import create_app, hub_of
from careconnect.hub import HubFastPath
from careconnect.logs import configure_logging
from careconnect.settings import load_settings


def settle_collector(young_threshold: int) -> None:
    """Put everything built at startup (modules, routes, the app, the hub) out of the collector's
    reach, and collect the young generation every ``young_threshold`` net allocations.

    A full collection walked that whole heap: 27-57 ms with the worker under load, a stall for
    every socket (docs/benchmarks.md). Frozen objects are never traversed again; what is made
    after startup is collected as usual, but less often than CPython's default of 700: under load
    each young collection promotes whatever is in flight at that moment (frames, futures,
    messages), and once promotions pass a quarter of the old generation a full collection walks
    every socket's objects (eight in a clinic 1,000 benchmark point, 97-227 ms each on a slow
    2-core VM; none while sending at 50,000). ``GC_YOUNG_THRESHOLD`` sets it. Once per worker,
    after the last startup hook.
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(young_threshold, middle, old)


def build_app() -> HubFastPath:
    """The application, with the hub's sockets taking the fast path past Litestar's middleware."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_json)
    app = create_app(settings)
    # Last, after the hub's start (which the plugin added): the startup heap is complete.
    app.on_startup.append(partial(settle_collector, settings.gc_young_threshold))
    return HubFastPath(app, hub_of(app))
