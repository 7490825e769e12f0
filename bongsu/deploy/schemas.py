"""Validate generated objects against the published schemas: prometheus-operator CRDs and the Compose
Specification. No Kubernetes API server or Docker engine is needed, so this runs anywhere.

The schemas are public data files kept beside the repository (`../shared/schemas/`, or the folder in
BONGSU_SCHEMAS_DIR); they are read, never copied into the project.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft7Validator

from bongsu import conventions
from bongsu.errors import PrerequisiteMissing

SCHEMAS_ENV = conventions.SCHEMAS_DIR


class SchemasMissing(PrerequisiteMissing):
    """The schema folder is absent; the message says where it was looked for and how to point at it."""


class KubernetesLoader(yaml.SafeLoader):
    """YAML 1.1 reads a bare `=` (an AlertmanagerConfig matchType, as kustomize prints it) as a `value` tag."""


KubernetesLoader.add_constructor("tag:yaml.org,2002:value", yaml.SafeLoader.construct_scalar)  # type: ignore[type-var]  # types-PyYAML types the method for the base class only


def schemas_dir() -> Path:
    """BONGSU_SCHEMAS_DIR, or `shared/schemas` beside the repository checkout."""
    configured = os.environ.get(SCHEMAS_ENV)
    folder = Path(configured) if configured else Path(__file__).resolve().parents[2].parent / "shared" / "schemas"
    if not (folder / "compose-spec.json").is_file() or not (folder / "prometheus-operator").is_dir():
        raise SchemasMissing(
            f"schemas not found in {folder} (need compose-spec.json and prometheus-operator/*.yaml): "
            f"put a copy of shared/schemas beside the repository, or set {SCHEMAS_ENV} to its folder")
    return folder


@dataclass(frozen=True)
class CrdVersion:
    kind: str
    api_version: str
    schema: dict[str, Any]


@cache
def load_crds(folder: Path) -> dict[tuple[str, str], CrdVersion]:
    """(apiVersion, kind) -> the served version's openAPIV3Schema, for every CRD in the folder."""
    found: dict[tuple[str, str], CrdVersion] = {}
    for path in sorted((folder / "prometheus-operator").glob("*.yaml")):
        crd = yaml.load(path.read_text(encoding="utf-8"), Loader=KubernetesLoader)
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for entry in crd["spec"]["versions"]:
            if entry.get("served"):
                api_version = f"{group}/{entry['name']}"
                found[(api_version, kind)] = CrdVersion(kind, api_version, entry["schema"]["openAPIV3Schema"])
    return found


def crd_problems(obj: dict[str, Any], crd: CrdVersion) -> list[str]:
    """Schema violations, plus fields the API server would silently prune (like kubectl's strict mode)."""
    problems = [f"{json_path(error.absolute_path)}: {error.message}"
                for error in Draft7Validator(crd.schema).iter_errors(obj)]
    problems += [f"{where}: unknown field (the API server would drop it)"
                 for where in _unknown_fields(obj, crd.schema, "")]
    return problems


def _unknown_fields(value: object, schema: dict[str, Any], where: str) -> list[str]:
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return []
    found: list[str] = []
    if isinstance(value, dict) and schema.get("type") == "object":
        properties = schema.get("properties")
        if properties is None:  # a map: every value follows additionalProperties
            items = schema.get("additionalProperties")
            for key, item in value.items():
                if isinstance(items, dict):
                    found += _unknown_fields(item, items, f"{where}.{key}")
            return found
        for key, item in value.items():
            if key not in properties:
                found.append(f"{where}.{key}".lstrip("."))
            else:
                found += _unknown_fields(item, properties[key], f"{where}.{key}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            found += _unknown_fields(item, schema["items"], f"{where}[{index}]")
    return found


def compose_problems(document: dict[str, Any], folder: Path) -> list[str]:
    """The compose file's violations of the Compose Specification's JSON schema (draft-07)."""
    schema = json.loads((folder / "compose-spec.json").read_text(encoding="utf-8"))
    return [f"{json_path(error.absolute_path) or '(top level)'}: {error.message}"
            for error in sorted(Draft7Validator(schema).iter_errors(document), key=lambda e: str(list(e.path)))]


def json_path(parts: object) -> str:
    """`spec.endpoints[0].port` from a jsonschema error path, so a problem says where it is."""
    text = ""
    for part in parts:  # type: ignore[attr-defined]
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
