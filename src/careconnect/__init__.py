"""CareConnect Live: a live telehealth consultation server built around a WebSocket hub."""

from __future__ import annotations

__all__ = ("__version__",)

__version__ = "0.1.0"
