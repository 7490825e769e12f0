"""Generated data as YAML people can read and diff: block style, multi-line PromQL as literal blocks.

A small emitter for the plain data the generators make (dicts, lists, strings, numbers, booleans),
because PyYAML's Python-level representer needs minutes for a 1,000-service catalog (tens of
thousands of rules and their tests); this writes the same documents in about a second. Scalars that
are not obviously plain are quoted (single quotes, or JSON-style double quotes when they hold control
characters), so the output reads back exactly; tests round-trip every generated file through PyYAML.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterable

_PLAIN = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./-]*$")
# Words YAML 1.1 readers (PyYAML, Go's yaml.v2) turn into booleans or null.
_RESERVED = {"y", "n", "yes", "no", "true", "false", "on", "off", "null", "~"}
_PRINTABLE = re.compile(r"^[^\x00-\x08\x0b-\x1f\x7f]*$")


@functools.lru_cache(maxsize=1 << 16)
def _string(value: str) -> str:
    """Strings repeat a lot (keys, labels, matchers), so their quoting is worked out once."""
    if _PLAIN.fullmatch(value) and value.lower() not in _RESERVED:
        return value
    if "\n" not in value and _PRINTABLE.fullmatch(value):
        return "'" + value.replace("'", "''") + "'"
    return json.dumps(value, ensure_ascii=False)


def _scalar(value: object) -> str:
    if isinstance(value, str):
        return _string(value)
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
    raise TypeError(f"cannot write {type(value).__name__} as YAML here")


def _literal(value: str) -> bool:
    """Multi-line text that a `|-` block keeps exactly."""
    return (not value.endswith("\n") and "\r" not in value and not value.startswith((" ", "\t"))
            and _PRINTABLE.fullmatch(value.replace("\t", " ")) is not None
            and all(line == line.rstrip() for line in value.split("\n")))


def _item(prefix: str, item: object, indent: int, out: list[str]) -> None:
    """One mapping value or sequence item after `prefix` (`key:` or `-`), nested blocks at `indent`."""
    kind = type(item)
    if kind is str:
        if "\n" in item and _literal(item):  # type: ignore[operator, arg-type]
            out.append(f"{prefix} |-")
            pad = " " * indent
            out.extend(f"{pad}{line}" if line else "" for line in item.split("\n"))  # type: ignore[union-attr]
        else:
            out.append(f"{prefix} {_string(item)}")  # type: ignore[arg-type]
    elif kind is dict or kind is list:
        if not item:
            out.append(f"{prefix} {'{}' if kind is dict else '[]'}")
        elif prefix.endswith("-"):  # a block inside a sequence starts on the dash's line
            start = len(out)
            _lines(item, indent, out)
            out[start] = f"{prefix} {out[start][indent:]}"
        else:
            out.append(prefix)
            _lines(item, indent if kind is list else indent, out)
    else:
        out.append(f"{prefix} {_scalar(item)}")


def _lines(value: object, indent: int, out: list[str]) -> None:
    pad = " " * indent
    if type(value) is dict:
        for key, item in value.items():  # type: ignore[attr-defined]
            # A nested mapping indents by two; a nested sequence stays at the key's column.
            _item(f"{pad}{_string(str(key))}:", item, indent + (0 if type(item) is list else 2), out)
    elif type(value) is list:
        for item in value:  # type: ignore[attr-defined]
            _item(f"{pad}-", item, indent + 2, out)
    else:
        raise TypeError(f"a YAML document here is a mapping or a sequence, not {type(value).__name__}")


def _block(data: object) -> str:
    out: list[str] = []
    _lines(data, 0, out)
    return "\n".join(out) + "\n"


def _comment(header: str) -> str:
    return "".join(f"# {line}\n" for line in header.splitlines())


def dump(data: object, header: str = "") -> str:
    """One YAML document, preceded by `header` as comment lines."""
    return _comment(header) + _block(data)


def document(data: object) -> str:
    """One document of a multi-document file, with its `---` line: what `dump_all` joins."""
    return "---\n" + _block(data)


def dump_all(documents: Iterable[object], header: str = "") -> str:
    """Several YAML documents in one file (Kubernetes manifests)."""
    return _comment(header) + "".join(map(document, documents))
