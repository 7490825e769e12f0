"""Generated data as YAML people can read and diff: block style, multi-line PromQL as literal blocks.

libyaml's C emitter when available: the 1,000-service build writes tens of thousands of rules.
"""

from __future__ import annotations

from collections.abc import Iterable

import yaml

_Base = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_Base):  # type: ignore[misc, valid-type]
    pass


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def dump(data: object, header: str = "") -> str:
    """One YAML document, preceded by `header` as comment lines."""
    comment = "".join(f"# {line}\n" for line in header.splitlines())
    return comment + yaml.dump(data, Dumper=_Dumper, sort_keys=False, width=120, allow_unicode=True)


def dump_all(documents: Iterable[object], header: str = "") -> str:
    """Several YAML documents in one file (Kubernetes manifests)."""
    comment = "".join(f"# {line}\n" for line in header.splitlines())
    return comment + yaml.dump_all(list(documents), Dumper=_Dumper, sort_keys=False, width=120,
                                   allow_unicode=True, explicit_start=True)
