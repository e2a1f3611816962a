"""Piccolo's CLI from a checkout (``piccolo migrations new careconnect --auto``): the package's
own configuration, which the server uses too."""

from careconnect.piccolo_conf import APP_REGISTRY, DB

__all__ = ["APP_REGISTRY", "DB"]
