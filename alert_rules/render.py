"""Generated data as YAML people can read and diff: block style, multi-line PromQL as literal blocks.

A small emitter for the plain data the generators make (dicts, lists, strings, numbers, booleans),
because PyYAML's Python-level representer needs minutes for a 1,000-service catalog (tens of
thousands of rules and their tests); this writes the same documents in about a second. Scalars that
are not obviously plain are quoted (single quotes, or JSON-style double quotes when they hold control
characters), so the output reads back exactly; tests round-trip every generated file through PyYAML.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable

_PLAIN = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./-]*$")
# Words YAML 1.1 readers (PyYAML, Go's yaml.v2) turn into booleans or null.
_RESERVED = {"y", "n", "yes", "no", "true", "false", "on", "off", "null", "~"}
_PRINTABLE = re.compile(r"^[^\x00-\x08\x0b-\x1f\x7f]*$")


def _scalar(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot write {value} as YAML here")
        text = repr(value)
        # YAML 1.1 floats need a dot and a signed exponent: 1e-05 -> 1.0e-05.
        if "e" in text and "." not in text:
            mantissa, exponent = text.split("e")
            text = f"{mantissa}.0e{exponent if exponent[0] in '+-' else '+' + exponent}"
        return text
    if isinstance(value, str):
        if _PLAIN.fullmatch(value) and value.lower() not in _RESERVED:
            return value
        if "\n" not in value and _PRINTABLE.fullmatch(value):
            return "'" + value.replace("'", "''") + "'"
        return json.dumps(value, ensure_ascii=False)
    raise TypeError(f"cannot write {type(value).__name__} as YAML here")


def _literal(value: object) -> bool:
    """Multi-line text that a `|-` block keeps exactly."""
    return (isinstance(value, str) and "\n" in value and not value.endswith("\n") and "\r" not in value
            and not value.startswith((" ", "\t")) and _PRINTABLE.fullmatch(value.replace("\t", " ")) is not None
            and all(line == line.rstrip() for line in value.split("\n")))


def _lines(value: object, indent: int) -> list[str]:
    pad = " " * indent
    out: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            name = _scalar(str(key))
            if isinstance(item, dict) and item:
                out.append(f"{pad}{name}:")
                out += _lines(item, indent + 2)
            elif isinstance(item, list) and item:
                out.append(f"{pad}{name}:")
                out += _lines(item, indent)
            elif _literal(item):
                out.append(f"{pad}{name}: |-")
                out += [f"{pad}  {line}" if line else "" for line in item.split("\n")]  # type: ignore[union-attr]
            else:
                out.append(f"{pad}{name}: {_empty(item) or _scalar(item)}")
    elif isinstance(value, list):
        for item in value:
            if (isinstance(item, dict) or isinstance(item, list)) and item:
                nested = _lines(item, indent + 2)
                out.append(f"{pad}- {nested[0].lstrip()}")
                out += nested[1:]
            elif _literal(item):
                out.append(f"{pad}- |-")
                out += [f"{pad}  {line}" if line else "" for line in item.split("\n")]  # type: ignore[union-attr]
            else:
                out.append(f"{pad}- {_empty(item) or _scalar(item)}")
    else:
        out.append(pad + (_empty(value) or _scalar(value)))
    return out


def _empty(value: object) -> str:
    if isinstance(value, dict) and not value:
        return "{}"
    if isinstance(value, list) and not value:
        return "[]"
    return ""


def _comment(header: str) -> str:
    return "".join(f"# {line}\n" for line in header.splitlines())


def dump(data: object, header: str = "") -> str:
    """One YAML document, preceded by `header` as comment lines."""
    return _comment(header) + "\n".join(_lines(data, 0)) + "\n"


def dump_all(documents: Iterable[object], header: str = "") -> str:
    """Several YAML documents in one file (Kubernetes manifests)."""
    return _comment(header) + "".join("---\n" + "\n".join(_lines(doc, 0)) + "\n" for doc in documents)
