"""A Hypothesis layer over schemathesis' cases: the values that broke the API (issue 15, item 6).

Schemathesis draws values that fit each operation's schema, and the schema now says "no NUL" and
"at most 2^53", so on its own it would never send what matters here. ``hostile_case`` takes its
case and, for one part of the request, puts in what the edge must refuse with a 4xx: NUL (and a
lone surrogate) in strings and paths, integers beyond 2^53 and 2^63, dates near the years 1 and
9999, deeply nested JSON bodies, and cursors of the wrong shape.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from hypothesis import strategies as st

MAX_COUNT = 2**53

nul_text = st.one_of(
    st.sampled_from(["\x00", "a\x00b", "\x00" * 3, "%00"]),
    st.text(max_size=12).flatmap(lambda t: st.integers(0, len(t)).map(lambda i: t[:i] + "\x00" + t[i:])),
)
huge_ints = st.one_of(
    st.sampled_from([2**31, MAX_COUNT + 1, 2**63, 2**64, 2**70, -(2**63) - 1, -1]),
    st.integers(min_value=MAX_COUNT + 1, max_value=2**90),
    st.integers(max_value=-(2**31)),
)
far_dates = st.one_of(
    st.sampled_from(
        [
            "9999-12-30T00:00:00Z",
            "9999-12-31T23:59:59-14:00",
            "9999-12-31T23:59:59",
            "0001-01-01T00:00:00+14:00",
            "0001-01-01T00:00:00Z",
        ]
    ),
    st.builds(
        lambda year, zone: f"{year:04d}-06-15T12:00:00{zone}",
        st.one_of(st.integers(1, 1899), st.integers(3000, 9999)),
        st.sampled_from(["Z", "+14:00", "-14:00", ""]),
    ),
)


def _nested(depth: int, opener: str) -> bytes:
    closer = "1" + "}" * depth if opener == '{"a":' else "]" * depth
    return (opener * depth + closer).encode()


nested_bodies = st.builds(
    _nested, st.integers(min_value=1_000, max_value=8_000), st.sampled_from(["[", '{"a":', '{"full_name":['])
).map(lambda body: body if not body.startswith(b'{"full_name":[') else body + b"}")


def _cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


scalars = st.one_of(st.none(), st.integers(), huge_ints, st.text(max_size=10), nul_text, far_dates)
cursors = st.one_of(
    st.lists(scalars, max_size=4).map(_cursor),
    st.tuples(far_dates, st.sampled_from(["00000000-0000-0000-0000-000000000000", "not-a-uuid", "a\x00"])).map(
        lambda pair: _cursor(list(pair))
    ),
    st.sampled_from(["garbage!", "%00", "\x00", "=" * 5]),
)


def hostile_value(schema: dict[str, Any], name: str = "") -> st.SearchStrategy[Any]:
    """A value the parameter or field named ``name`` with ``schema`` must refuse (or survive)."""
    if name == "cursor":
        return cursors
    options = [schema, *schema.get("oneOf", []), *schema.get("anyOf", [])]
    kinds = {kind for option in options for kind in _listed(option.get("type"))}
    formats = {option.get("format") for option in options}
    if "date-time" in formats or "date" in formats or name in {"from", "to", "since", "starts_at"}:
        return st.one_of(far_dates, nul_text)
    if "integer" in kinds or "number" in kinds:
        return huge_ints
    return st.one_of(nul_text, huge_ints, far_dates)


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    if isinstance(value, dict):
        return [leaf for key, item in value.items() for leaf in _leaves(item, (*path, key))] or [(path, value)]
    if isinstance(value, list):
        return [leaf for i, item in enumerate(value) for leaf in _leaves(item, (*path, i))] or [(path, value)]
    return [(path, value)]


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    copy = list(value)
    copy[head] = _replace(copy[head], rest, new)
    return copy


def _for_leaf(leaf: Any, key: Any) -> st.SearchStrategy[Any]:
    if isinstance(leaf, bool) or leaf is None:
        return st.one_of(nul_text, huge_ints)
    if isinstance(leaf, int | float):
        return huge_ints
    if isinstance(leaf, str):
        return far_dates if key in {"starts_at", "date"} else st.one_of(nul_text, far_dates)
    return st.one_of(nul_text, huge_ints)


@st.composite
def hostile_case(draw: st.DrawFn, operation: Any, known: dict[str, str] | None = None) -> tuple[Any, bytes | None]:
    """A schemathesis case of ``operation`` with one part made hostile; and a raw body to send
    instead of the case's JSON (deeply nested), or None.

    ``known``: real ids by path parameter name (a seeded doctor, appointment, patient), so that
    hostile queries and bodies get past the 404 of a random id (the path part makes the id hostile).
    """
    case = draw(operation.as_strategy())
    if known and case.path_parameters:
        case.path_parameters = {k: known.get(k, v) for k, v in case.path_parameters.items()}
    parts = ["query"] if list(operation.query) else []
    if list(operation.path_parameters):
        parts.append("path")
    if operation.body:
        parts += ["body", "nested"]
    if not parts:
        return case, None
    part = draw(st.sampled_from(parts))
    if part == "query":
        query = dict(case.query or {})
        params = list(operation.query)
        first = draw(st.sampled_from(params))  # one for sure, others when drawn (False is the simplest)
        chosen = [p for p in params if p is first or draw(st.booleans())]
        for param in chosen:
            query[param.name] = draw(hostile_value(param.definition.get("schema", param.definition), param.name))
        case.query = query
    elif part == "path":
        param = draw(st.sampled_from(list(operation.path_parameters)))
        case.path_parameters = {**(case.path_parameters or {}), param.name: draw(nul_text)}
    elif part == "body":
        leaves = _leaves(case.body)
        path, leaf = draw(st.sampled_from(leaves))
        case.body = _replace(case.body, path, draw(_for_leaf(leaf, path[-1] if path else None)))
    else:
        return case, draw(nested_bodies)
    return case, None
