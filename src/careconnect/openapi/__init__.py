"""The OpenAPI document and the docs pages at ``/schema``, described in one place.

``openapi_config()`` is the app's ``OpenAPIConfig`` (``config.py``); ``ApiDocs``, a Litestar
plugin, describes each route as it is registered from what its handlers already say
(``describe.py``), so a controller added later is described the same way without doing anything:

- operationIds are ``<tag>_<handler name>`` (``auth_login``, ``appointments_list_mine``), unique
  and stable while the handler keeps its name (a route may still pass its own ``operation_id``);
- a handler behind a ``requires_*`` guard needs the bearer token (``security``); one without is
  public (login, register, ``/healthz``), unless it declares ``security`` itself;
- every error a handler can answer is ``application/problem+json`` with the ``Problem`` schema
  (``careconnect.errors``): 401 and 403 behind a guard, 404 with a path parameter, 400 with a
  body or a path parameter (a NUL in the path, JSON nested too deeply), 413 with a body, 422
  with any input, and ``default`` for 500/503. What only the rules know (a 409, a 429) the route
  declares with ``responses=problems(409, 429)``. Litestar's own 400
  ``{status_code, detail, extra}``, which this server never sends, is dropped;
- the main request bodies get an example (``examples.py``).

The docs page (``pages.py``) is Swagger UI served from files shipped in the package
(``careconnect/docs_assets/``): no CDN, and no inline script, so ``/schema`` keeps a strict Content-Security-Policy of its own.
``/schema/asyncapi.json`` is the hub protocol's AsyncAPI document (``careconnect.asyncapi``).
"""

from careconnect.openapi.config import ApiDocs, openapi_config
from careconnect.openapi.describe import BEARER, REFRESH_CREDENTIAL, describe, operation_id, problems
from careconnect.openapi.examples import EXAMPLES
from careconnect.openapi.pages import DOCS_CSP

__all__ = (
    "BEARER",
    "DOCS_CSP",
    "EXAMPLES",
    "REFRESH_CREDENTIAL",
    "ApiDocs",
    "describe",
    "openapi_config",
    "operation_id",
    "problems",
)
