"""The operations endpoints' bodies."""

from __future__ import annotations

import msgspec


class Health(msgspec.Struct):
    """``/healthz`` and ``/readyz``: ``ok`` or ``unavailable``, and each backing service's state."""

    status: str
    checks: dict[str, str] = {}

    @property
    def ready(self) -> bool:
        return self.status == "ok"
