"""The import rules of the layout (docs/architecture.md), checked over every module of src/careconnect.

- a controller (``careconnect.controllers.*``) never imports the tables (``careconnect.tables``);
- the business side (``careconnect.domain.*``) never imports Litestar, nor the HTTP layer's
  ``careconnect.errors``, ``careconnect.guards`` or ``careconnect.controllers``;
- the hub (``careconnect.hub.*``) imports nothing of the application (``careconnect.*`` outside
  ``careconnect.hub``);
- nothing reads collaborators by name from ``app.state``.

An import counts in any form: ``import a.b``, ``from a import b``, ``from a.b import c``, a
relative ``from ..b import c``, one inside a function or under ``TYPE_CHECKING``, and
``importlib.import_module("a.b")``. Each rule also runs on a bad snippet of its own, so a rule
that stopped seeing anything fails here instead of passing in silence.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import careconnect

SRC = Path(careconnect.__file__).resolve().parent
PACKAGE = "careconnect"


@dataclass(frozen=True)
class Rule:
    """Modules under ``scope`` may not import anything under ``forbidden`` (unless under ``allowed``)."""

    name: str
    scope: str
    forbidden: tuple[str, ...]
    allowed: tuple[str, ...] = ()

    def applies_to(self, module: str) -> bool:
        return _within(module, self.scope)

    def refuses(self, imported: str) -> bool:
        return any(_within(imported, f) for f in self.forbidden) and not any(_within(imported, a) for a in self.allowed)


CONTROLLERS_NO_TABLES = Rule("controllers never import the tables", "careconnect.controllers", ("careconnect.tables",))
DOMAIN_NO_HTTP = Rule(
    "the domain never imports Litestar or the HTTP layer",
    "careconnect.domain",
    ("litestar", "careconnect.errors", "careconnect.guards", "careconnect.controllers"),
)
HUB_NO_APP = Rule(
    "the hub imports nothing of the application", "careconnect.hub", ("careconnect",), ("careconnect.hub",)
)
RULES = (CONTROLLERS_NO_TABLES, DOMAIN_NO_HTTP, HUB_NO_APP)

# ``request.app.state``, ``connection.app.state.x``, ``getattr(request.app, "state")``.
APP_STATE_READ = re.compile(r"\.app\.state\b|getattr\(\s*[\w.]*\bapp\s*,\s*['\"]state['\"]")


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_names(module: str, source: str, *, is_package: bool = False) -> Iterator[tuple[int, str]]:
    """``(line, dotted name)`` for everything ``source`` imports; ``from a import b`` gives ``a.b``."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                yield node.lineno, base if alias.name == "*" else f"{base}.{alias.name}"
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                or (isinstance(node.func, ast.Name) and node.func.id in ("import_module", "__import__"))
            )
        ):
            yield node.lineno, node.args[0].value


def import_violations(
    module: str, source: str, *, is_package: bool = False, rules: tuple[Rule, ...] = RULES
) -> list[str]:
    found = []
    for rule in rules:
        if not rule.applies_to(module):
            continue
        for line, name in imported_names(module, source, is_package=is_package):
            if rule.refuses(name):
                found.append(f"{module}:{line} imports {name} ({rule.name})")
    return found


def app_state_reads(module: str, source: str) -> list[str]:
    return [
        f"{module}:{number} reads app.state: {line.strip()}"
        for number, line in enumerate(source.splitlines(), 1)
        if APP_STATE_READ.search(line)
    ]


def modules() -> list[tuple[str, Path]]:
    found = [(module_name(path), path) for path in sorted(SRC.rglob("*.py"))]
    assert len(found) > 50 and any(name == "careconnect.app" for name, _ in found), "src/careconnect was not found"
    return found


def tree_violations(rule: Rule) -> list[str]:
    found = []
    for name, path in modules():
        found += import_violations(name, path.read_text(), is_package=path.name == "__init__.py", rules=(rule,))
    return found


# The real tree.


def test_no_controller_imports_the_tables():
    assert tree_violations(CONTROLLERS_NO_TABLES) == []


def test_the_domain_imports_neither_litestar_nor_the_http_layer():
    assert tree_violations(DOMAIN_NO_HTTP) == []


def test_the_hub_imports_nothing_of_the_application():
    assert tree_violations(HUB_NO_APP) == []


def test_nothing_reads_app_state():
    found = []
    for name, path in modules():
        found += app_state_reads(name, path.read_text())
    assert found == []


# Each rule catches a bad snippet, in every form of import, and lets a good one through.

BAD = [
    ("careconnect.controllers.doctors", "from careconnect.tables import DoctorProfile"),
    ("careconnect.controllers.doctors", "from careconnect.tables.scheduling import Appointment"),
    ("careconnect.controllers.doctors", "import careconnect.tables"),
    ("careconnect.controllers.doctors", "import careconnect.tables.accounts as accounts"),
    ("careconnect.controllers.doctors", "from careconnect import tables"),
    ("careconnect.controllers.doctors", "from ..tables import User"),
    ("careconnect.controllers.doctors", "from .. import tables"),
    ("careconnect.controllers.doctors", "def f():\n    from careconnect.tables import User\n"),
    ("careconnect.controllers.doctors", "if TYPE_CHECKING:\n    from careconnect.tables import User\n"),
    ("careconnect.controllers.doctors", "importlib.import_module('careconnect.tables')"),
    ("careconnect.domain.scheduling.booking", "from litestar.exceptions import HTTPException"),
    ("careconnect.domain.scheduling.booking", "import litestar"),
    ("careconnect.domain.scheduling.booking", "from litestar import Request"),
    ("careconnect.domain.scheduling.booking", "from careconnect.errors import ApiError"),
    ("careconnect.domain.scheduling.booking", "from careconnect import errors"),
    ("careconnect.domain.scheduling.booking", "from ...errors import not_found"),
    ("careconnect.domain.scheduling.booking", "from careconnect.guards import requires_patient"),
    ("careconnect.domain.scheduling.booking", "from careconnect.controllers.doctors import DoctorsController"),
    ("careconnect.domain.scheduling", "from ...guards import current_principal"),  # in a package's __init__
    ("careconnect.hub.hub", "from careconnect.domain.consultations.rooms import room_name"),
    ("careconnect.hub.hub", "import careconnect.realtime"),
    ("careconnect.hub.hub", "from careconnect import tables"),
    ("careconnect.hub.hub", "from ..settings import Settings"),
    ("careconnect.hub.brokers.redis", "from ...tables import ChatMessage"),
]

GOOD = [
    ("careconnect.controllers.doctors", "from careconnect.domain.scheduling.service import SchedulingService"),
    (
        "careconnect.controllers.doctors",
        "from litestar import Controller, get\nfrom careconnect.errors import ApiError",
    ),
    (
        "careconnect.domain.scheduling.booking",
        "from careconnect.domain.errors import Conflict\nfrom careconnect.tables import Slot",
    ),
    ("careconnect.domain.scheduling.booking", "from ..errors import NotFound"),  # careconnect.domain.errors
    ("careconnect.domain.scheduling.booking", "import msgspec\nfrom careconnect.errors_help import x"),
    ("careconnect.hub.hub", "from careconnect.hub.protocol import Frame\nfrom .store import MessageStore"),
    ("careconnect.hub.brokers.redis", "from ..encoding import encode_json\nimport litestar"),
    ("careconnect.realtime", "from careconnect.tables import User\nfrom careconnect.errors import ApiError"),
]


@pytest.mark.parametrize(("module", "source"), BAD)
def test_each_import_rule_catches_a_bad_import(module: str, source: str):
    is_package = module == "careconnect.domain.scheduling"
    assert import_violations(module, source, is_package=is_package), f"{module}: {source!r} was let through"


@pytest.mark.parametrize(("module", "source"), GOOD)
def test_the_import_rules_let_allowed_imports_through(module: str, source: str):
    assert import_violations(module, source) == []


@pytest.mark.parametrize(
    "line",
    [
        "redis = getattr(request.app.state, 'redis', None)",
        "settings = connection.app.state.settings",
        "return request.app.state",
        'getattr(request.app, "state")',
    ],
)
def test_an_app_state_read_is_caught(line: str):
    assert app_state_reads("careconnect.controllers.x", f"def f(request):\n    {line}\n")


def test_the_rules_see_the_real_tree():
    """The checks above walk the real modules: the known imports of today's tree are found."""
    names = dict(modules())
    assert ("careconnect.hub.hub" in names) and ("careconnect.domain.errors" in names)
    app_imports = {name for _, name in imported_names("careconnect.app", names["careconnect.app"].read_text())}
    assert "careconnect.hub.HubPlugin" in app_imports and "litestar.Litestar" in app_imports
