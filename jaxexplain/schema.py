"""JSON Schema (draft 2020-12) of every jaxexplain document, generated from the report model.

The schemas are made when asked, from the dataclasses of `jaxexplain.report` (the package ships
the model, so the schema always matches the documents it writes): a dataclass is an object
with exactly its fields, `Literal` an enum, `X | None` a union with null, a tuple an array, a
dict an object whose values share one schema. A field with a default may be absent, and so may
a timing (`--stable` leaves them out). Every command's document is its report or, where the run
ended before one, the error document under the same `schema` value: one schema per command.
Nothing here imports JAX.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from typing import Any, Literal

from jaxexplain import report
from jaxexplain.timings import is_timing

DRAFT = "https://json-schema.org/draft/2020-12/schema"
PREFIX = "jaxexplain."
ERROR = "error"
_JSON_TYPES: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}
# Keys the JSON renderer adds to a document beside the model: derived facts, never loaded back.
_DERIVED = {"views": {"type": "object"}}


def document_names() -> tuple[str, ...]:
    """The names `jaxexplain schema NAME` takes: every command's document, and the error one."""
    return (*commands(), ERROR)


def commands() -> dict[str, type]:
    """Each command document's report class by name ("trace", "diff", "watch", ...): the model's
    dataclasses whose `schema` field defaults to a "jaxexplain.NAME/1" value."""
    found: dict[str, type] = {}
    for value in vars(report).values():
        tag = _schema_value(value)
        if tag is not None and value is not report.ErrorReport:
            found[_name_of(tag)] = value
    return dict(sorted(found.items()))


def schema_for(name: str) -> dict[str, Any]:
    """The JSON Schema of the document `name`, self-contained (its object kinds in `$defs`).

    Raises:
        KeyError: for a name that is no document (`document_names()` lists them).
    """
    defs: dict[str, Any] = {}
    if name == ERROR:
        body = _document(report.ErrorReport, None, defs)
        title = "a jaxexplain run that ended before its report"
    else:
        cls = commands()[name]
        tag = _schema_value(cls)
        body = {"anyOf": [_document(cls, tag, defs), _document(report.ErrorReport, tag, defs)]}
        title = f"{tag}: the {name} report, or the error document of a {name} run"
    return {
        "$schema": DRAFT,
        "$id": f"urn:jaxexplain:schema:{name}",
        "title": title,
        **body,
        "$defs": defs,
    }


def schema_text(name: str) -> str:
    """The schema as `jaxexplain schema NAME` prints it."""
    return json.dumps(schema_for(name), indent=2)


def _document(cls: type, tag: str | None, defs: dict[str, Any]) -> dict[str, Any]:
    """A top-level document: the object of `cls`, its `schema` value fixed to `tag` (any
    jaxexplain schema where None), with the renderer's derived keys allowed."""
    shape = _object(cls, defs)
    schema = {"const": tag} if tag else {"type": "string", "pattern": f"^{PREFIX}"}
    shape["properties"] = {**shape["properties"], "schema": schema, **_DERIVED}
    return shape


def _object(cls: type, defs: dict[str, Any]) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    return {
        "type": "object",
        "description": (cls.__doc__ or "").split("\n")[0],
        "properties": {f.name: type_schema(hints[f.name], defs) for f in fields},
        "required": [f.name for f in fields if _required(f)],
        "additionalProperties": False,
    }


def type_schema(tp: Any, defs: dict[str, Any]) -> dict[str, Any]:
    """The schema of values of the type hint `tp`; each dataclass goes once into `defs`."""
    if tp is Any:
        return {}
    if tp is type(None):
        return {"type": "null"}
    if tp in _JSON_TYPES:
        return {"type": _JSON_TYPES[tp]}
    if dataclasses.is_dataclass(tp):
        name = tp.__name__  # type: ignore[union-attr]
        if name not in defs:
            defs[name] = {}
            defs[name] = _object(tp, defs)  # type: ignore[arg-type]
        return {"$ref": f"#/$defs/{name}"}
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Literal:
        return {"enum": list(args)}
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [type_schema(a, defs) for a in args]}
    if origin is tuple:
        return _array(args, defs)
    if origin is dict:
        return {"type": "object", "additionalProperties": type_schema(args[1], defs)}
    raise TypeError(f"the report model has a type with no JSON Schema: {tp!r}")


def _array(args: tuple[Any, ...], defs: dict[str, Any]) -> dict[str, Any]:
    if len(args) == 2 and args[1] is Ellipsis:
        return {"type": "array", "items": type_schema(args[0], defs)}
    items = [type_schema(a, defs) for a in args]
    return {"type": "array", "prefixItems": items, "minItems": len(items), "maxItems": len(items)}


def _required(f: dataclasses.Field[Any]) -> bool:
    no_default = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    return no_default and not is_timing(f.name)


def _schema_value(value: Any) -> str | None:
    if not (isinstance(value, type) and dataclasses.is_dataclass(value)):
        return None
    field = {f.name: f for f in dataclasses.fields(value)}.get("schema")
    default = field.default if field is not None else None
    return default if isinstance(default, str) and default.startswith(PREFIX) else None


def _name_of(tag: str) -> str:
    """ "jaxexplain.watch-merge/1" -> "watch-merge"."""
    return tag.removeprefix(PREFIX).partition("/")[0]
