"""Compare two OpenAPI documents: operations, parameters, and request/response property names and enums.

Each schema is flattened into `{json-path: enum values or None}`, e.g. `.data[].attributes.state` ->
`("eligible", "paid", ...)`. Two documents then differ where one has a json-path the other lacks,
or where both have it with different enum values. What it deliberately ignores: descriptions,
examples, formats, types, `required`, nullability (OpenAPI 3.0 `nullable` and 3.1 `null` types
flatten the same way), and how a schema is split into components.

Alternatives (`anyOf`/`oneOf`/`allOf`) are merged: the reference documents the declaration request
as one alternative per declaration type, we may document it the same way or as one schema; both
flatten to the union of their properties, each property with the union of its enums.

A property missing on one side is reported once, not once per nested property, and an operation
documenting no response schema at all is reported as such, so one cause gives one line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

HTTP_METHODS = ("get", "put", "post", "delete", "patch")
_COMBINATORS = ("allOf", "anyOf", "oneOf")

Shape = dict[str, tuple[str, ...] | None]
Operation = tuple[str, str]  # (METHOD, path template)


def _lookup(doc: dict[str, Any], ref: str) -> Any:
    if not ref.startswith("#/"):
        raise ValueError(f"only local $refs are supported, got {ref!r}")
    target: Any = doc
    for part in ref[2:].split("/"):
        target = target[part.replace("~1", "/").replace("~0", "~")]
    return target


def resolve(doc: dict[str, Any], node: Any) -> Any:
    """`node` with `$ref`s followed (a chain of refs included)."""
    seen: set[str] = set()
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        if node["$ref"] in seen:
            return {}
        seen.add(node["$ref"])
        node = _lookup(doc, node["$ref"])
    return node


def _enum_value(value: Any) -> str | None:
    if value is None:
        return None  # null in an enum is nullability, which is not compared
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def shape(doc: dict[str, Any], schema: Any) -> Shape:
    """Flatten `schema` into {json-path: sorted enum values, or None when it has no enum}."""
    out: dict[str, set[str] | None] = {}
    _walk(doc, schema, "", out, frozenset())
    return {path: (tuple(sorted(values)) if values is not None else None) for path, values in out.items()}


def _walk(
    doc: dict[str, Any], node: Any, path: str, out: dict[str, set[str] | None], refs: frozenset[str]
) -> None:
    if isinstance(node, dict) and isinstance(node.get("$ref"), str):
        if node["$ref"] in refs:
            return  # recursion: already flattened on this branch
        refs = refs | {node["$ref"]}
        node = resolve(doc, node)
    if not isinstance(node, dict):
        return
    for combinator in _COMBINATORS:
        for sub in node.get(combinator) or []:
            _walk(doc, sub, path, out, refs)
    values: list[Any] | None = None
    if isinstance(node.get("enum"), list):
        values = list(node["enum"])
    elif "const" in node:  # OpenAPI 3.1 / pydantic: a one-value Literal
        values = [node["const"]]
    if values is not None:
        strings = {s for s in map(_enum_value, values) if s is not None}
        if strings:
            current = out.get(path)
            out[path] = strings if current is None else current | strings
    for name, sub in (node.get("properties") or {}).items():
        out.setdefault(f"{path}.{name}", None)
        _walk(doc, sub, f"{path}.{name}", out, refs)
    if "items" in node:
        _walk(doc, node["items"], f"{path}[]", out, refs)


# --- what is compared for each operation --------------------------------------------------------


def operations(doc: dict[str, Any], include: Callable[[str], bool] | None = None) -> dict[Operation, Any]:
    return {
        (method.upper(), path): operation
        for path, item in (doc.get("paths") or {}).items()
        if include is None or include(path)
        for method, operation in item.items()
        if method in HTTP_METHODS
    }


def parameters(doc: dict[str, Any], operation: dict[str, Any], path_item: dict[str, Any]) -> dict[str, Shape]:
    """`in:name` -> the shape of its schema, path-level parameters included."""
    found: dict[str, Shape] = {}
    for raw in [*(path_item.get("parameters") or []), *(operation.get("parameters") or [])]:
        parameter = resolve(doc, raw)
        found[f"{parameter['in']}:{parameter['name']}"] = shape(doc, parameter.get("schema") or {})
    return found


def _json_schema(doc: dict[str, Any], holder: Any) -> tuple[bool, Any]:
    """(has JSON content, its schema) of a requestBody or response object."""
    content = (resolve(doc, holder) or {}).get("content") or {}
    for media, entry in content.items():
        if "json" in media:
            return True, (entry or {}).get("schema")
    return False, None


@dataclass(frozen=True)
class _Side:
    doc: dict[str, Any]
    operation: dict[str, Any]
    path_item: dict[str, Any]


def diff(
    ours: dict[str, Any], reference: dict[str, Any], include: Callable[[str], bool] | None = None
) -> list[str]:
    """Every difference between two documents, one line each, sorted; `include` filters paths."""
    found: list[str] = []
    our_ops, ref_ops = operations(ours, include), operations(reference, include)
    for method, path in sorted(set(ref_ops) - set(our_ops)):
        found.append(f"{method} {path}: missing operation")
    for method, path in sorted(set(our_ops) - set(ref_ops)):
        found.append(f"{method} {path}: extra operation")
    for key in sorted(set(our_ops) & set(ref_ops)):
        method, path = key
        a = _Side(ours, our_ops[key], ours["paths"][path])
        b = _Side(reference, ref_ops[key], reference["paths"][path])
        found.extend(f"{method} {path}: {line}" for line in _operation_diff(a, b))
    return found


def _operation_diff(a: _Side, b: _Side) -> Iterable[str]:
    ours, theirs = parameters(a.doc, a.operation, a.path_item), parameters(b.doc, b.operation, b.path_item)
    for name in sorted(set(theirs) - set(ours)):
        yield f"missing parameter {name}"
    for name in sorted(set(ours) - set(theirs)):
        yield f"extra parameter {name}"
    for name in sorted(set(ours) & set(theirs)):
        yield from (f"parameter {name} {line}" for line in compare(ours[name], theirs[name]))

    yield from _content_diff(
        "request", a.doc, a.operation.get("requestBody"), b.doc, b.operation.get("requestBody")
    )
    a_ok = (a.operation.get("responses") or {}).get("200")
    b_ok = (b.operation.get("responses") or {}).get("200")
    yield from _content_diff("response 200", a.doc, a_ok, b.doc, b_ok)


def _content_diff(label: str, a_doc: dict[str, Any], a: Any, b_doc: dict[str, Any], b: Any) -> Iterable[str]:
    a_json, a_schema = _json_schema(a_doc, a)
    b_json, b_schema = _json_schema(b_doc, b)
    if not a_json and not b_json:
        return  # neither documents a JSON body (no body, or CSV)
    if not b_json:
        yield f"{label}: extra JSON body"
        return
    if not a_json:
        yield f"{label}: missing JSON body"
        return
    a_shape, b_shape = shape(a_doc, a_schema or {}), shape(b_doc, b_schema or {})
    if not a_shape and b_shape:
        yield f"{label}: no schema ({len(b_shape)} documented properties)"
        return
    yield from (f"{label} {line}" for line in compare(a_shape, b_shape))


def compare(ours: Shape, theirs: Shape) -> list[str]:
    """Differences between two flattened schemas; a missing property hides its missing children."""
    lines: list[str] = []
    for label, present, absent in (("missing", theirs, ours), ("extra", ours, theirs)):
        reported: list[str] = []
        for path in sorted(set(present) - set(absent)):
            if any(path.startswith(f"{parent}.") or path.startswith(f"{parent}[") for parent in reported):
                continue
            reported.append(path)
            lines.append(f"{label} property {path or '(root)'}")
    for path in sorted(set(ours) & set(theirs)):
        mine, other = ours[path], theirs[path]
        if mine == other:
            continue
        where = path or "(root)"
        if mine is None:
            lines.append(f"missing enum at {where}: {list(other or ())}")
        elif other is None:
            lines.append(f"extra enum at {where}: {list(mine)}")
        else:
            extra, missing = sorted(set(mine) - set(other)), sorted(set(other) - set(mine))
            parts = [f"ours adds {extra}" if extra else "", f"ours lacks {missing}" if missing else ""]
            lines.append(f"enum differs at {where}: " + "; ".join(p for p in parts if p))
    return lines
