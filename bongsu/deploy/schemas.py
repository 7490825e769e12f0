"""Validate generated objects against published specifications, with maintained packages that ship them:
prometheus-operator custom resources with `cloudcoil-models-prometheus-operator` (pydantic models
generated from the operator's CRDs) and the Compose file with `compose-spec` (the `compose_spec` Rust
parser, which follows the Compose Specification). No Kubernetes API server or Docker engine is needed,
and nothing outside the installed packages is read. docs/deploy.md says why these two.

When a package is not installed the check says "not checked" and why (`CheckUnavailable`); it never
fails for something the user cannot see.
"""

from __future__ import annotations

import json
import types
import typing
from functools import cache
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from bongsu.deploy.compose_checks import _INTERPOLATION, _default
from bongsu.errors import PrerequisiteMissing

# The packages (and the pinned versions in constraints.txt) the checks come from, for messages.
CRD_PACKAGE = "cloudcoil-models-prometheus-operator"
COMPOSE_PACKAGE = "compose-spec"
# The kinds Bongsu writes or may write: (apiVersion, kind) -> (module, class name) in the package.
CRD_KINDS = {
    ("monitoring.coreos.com/v1", "PrometheusRule"): ("v1", "PrometheusRule"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"): ("v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PodMonitor"): ("v1", "PodMonitor"),
    ("monitoring.coreos.com/v1alpha1", "AlertmanagerConfig"): ("v1alpha1", "AlertmanagerConfig"),
}


class CheckUnavailable(PrerequisiteMissing):
    """The package a check needs is not installed; the message says which and how to get it. The
    checks report it as "not checked" (Finding.checked False), never as a failure."""


class KubernetesLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """YAML 1.1 reads a bare `=` (an AlertmanagerConfig matchType, as kustomize prints it) as a `value` tag.
    libyaml's parser when present: a 1,000-service build writes 70 MB of manifests."""


KubernetesLoader.add_constructor("tag:yaml.org,2002:value", yaml.SafeLoader.construct_scalar)


@cache
def crd_models() -> dict[tuple[str, str], type[BaseModel]]:
    """(apiVersion, kind) -> the package's model of that served CRD version. Imported on first use
    (about a second: the models are large), so only commands that validate manifests pay for it."""
    try:
        from cloudcoil.models.prometheus_operator import v1, v1alpha1
    except ModuleNotFoundError as exc:
        raise CheckUnavailable(f"{CRD_PACKAGE} is not installed ({exc.name} missing): "
                               f"pip install -c constraints.txt 'bongsu[dev]'") from None
    modules = {"v1": v1, "v1alpha1": v1alpha1}
    return {key: getattr(modules[module], name) for key, (module, name) in CRD_KINDS.items()}


def crd_problems(obj: dict[str, Any], model: type[BaseModel]) -> list[str]:
    """Schema violations, plus fields the API server would silently prune (like kubectl's strict mode)."""
    try:
        model.model_validate(obj)
        problems: list[str] = []
    except ValidationError as exc:
        problems = [f"{json_path(error['loc']) or '(object)'}: {error['msg']}" for error in exc.errors()]
    problems += [f"{where}: unknown field (the API server would drop it)"
                 for where in _unknown_fields(obj, model, "")]
    return problems


def _unknown_fields(value: object, annotation: object, where: str) -> list[str]:
    """Keys of `value` that the model (or the models nested in its field types) does not define."""
    found: list[str] = []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if not isinstance(value, dict):
            return []
        fields = {(field.alias or name): field.annotation for name, field in annotation.model_fields.items()}
        for key, item in value.items():
            if key not in fields:
                found.append(f"{where}.{key}".lstrip("."))
            else:
                found += _unknown_fields(item, fields[key], f"{where}.{key}")
        return found
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _unknown_fields(value, args[0], where)
    if origin in (typing.Union, types.UnionType):
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        others = [a for a in args if a not in models and a is not type(None)]
        if isinstance(value, dict) and models and not any(typing.get_origin(a) is dict for a in others):
            return _unknown_fields(value, models[0], where)
        for arg in others:
            if typing.get_origin(arg) in (list, dict):
                return _unknown_fields(value, arg, where)
        return []
    if origin is list and isinstance(value, list) and args:
        for index, item in enumerate(value):
            found += _unknown_fields(item, args[0], f"{where}[{index}]")
    elif origin is dict and isinstance(value, dict) and len(args) == 2:
        for key, item in value.items():
            found += _unknown_fields(item, args[1], f"{where}.{key}")
    return found


def compose_problems(text: str) -> list[str]:
    """The compose file's first violation of the Compose Specification (the parser stops at the first),
    with its line. `${VAR:-default}` takes its default and `${VAR}` the empty string, as Compose does
    when the variable is unset; YAML merge keys (`<<:`) are applied first, as Compose does."""
    try:
        # The native parser itself (the package's .pyi covers only its pydantic wrapper, which adds nothing here).
        from compose_spec.compose_spec import PyOptions  # type: ignore[import-not-found]
    except ModuleNotFoundError as exc:
        raise CheckUnavailable(f"{COMPOSE_PACKAGE} is not installed ({exc.name} missing): "
                               f"pip install -c constraints.txt 'bongsu[dev]'") from None
    interpolated = _INTERPOLATION.sub(_default, text.replace("$$", "\0")).replace("\0", "$")
    try:
        PyOptions(apply_merge=True).from_yaml(interpolated).validate()
    except ValueError as exc:
        return [str(exc)]
    return []


def compose_text(document: dict[str, Any]) -> str:
    """A parsed compose document back as text, for checking an edited copy."""
    return json.dumps(document, indent=1)


def json_path(parts: object) -> str:
    """`spec.endpoints[0].port` from an error location, so a problem says where it is."""
    text = ""
    for part in parts:  # type: ignore[attr-defined]
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
