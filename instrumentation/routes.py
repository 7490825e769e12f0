"""The `http_route` of a request: the route template the framework matched, never the raw path.

Starlette (and FastAPI) record the matched route in `scope["route"]` while routing; a Mount adds its
matched prefix to `root_path`. Flask's URL map gives the rule. Anything unmatched is `UNMATCHED`.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from instrumentation.red import UNMATCHED


def asgi_route(scope: MutableMapping[str, Any], root_path: str) -> str:
    route = scope.get("route")
    template: str | None = getattr(route, "path_format", None) if route is not None else None
    if not template:
        return UNMATCHED
    if type(route).__name__ == "Mount":
        # Still the Mount: a mounted router matched nothing inside it; any other mounted app (static
        # files, a sub-application) handled the request under the mount's own template.
        return UNMATCHED if getattr(route, "routes", None) else template
    prefix: str = scope.get("root_path", "")[len(root_path):]
    return prefix + template if prefix else template


def starlette_route_before(app: object, scope: MutableMapping[str, Any]) -> str | None:
    """The route template Starlette (or FastAPI) will match for `scope`, found before the request
    runs with the routes' public `matches()`; None when nothing matches fully."""
    routes = getattr(app, "routes", None)
    if not routes:
        return None
    from starlette.routing import Match

    prefix = ""
    child_scope: dict[str, Any] = dict(scope)
    while routes:
        for route in routes:
            match, update = route.matches(child_scope)
            if match is Match.FULL:
                break
        else:
            return None
        template: str | None = getattr(route, "path_format", None)
        if not template:
            return None
        nested = getattr(route, "routes", None)
        if not nested:
            return prefix + template
        # A Mount: go on inside it with the scope it would hand down.
        prefix += getattr(route, "path", "")
        child_scope = {**child_scope, **update}
        routes = nested
    return None


def flask_route(url_map: Any, environ: dict[str, Any]) -> str:
    try:
        rule, _ = url_map.bind_to_environ(environ).match(return_rule=True)
    except Exception:  # noqa: BLE001 - NotFound, MethodNotAllowed, RequestRedirect
        return UNMATCHED
    template: str = rule.rule
    return template


def django_route(environ: dict[str, Any]) -> str:
    """The matched Django URL pattern (`/orders/<int:order_id>`), from Django's own resolver."""
    try:
        from django.urls import Resolver404, resolve

        match = resolve(environ.get("PATH_INFO", "") or "/")
    except Resolver404:
        return UNMATCHED
    except Exception:  # noqa: BLE001 - settings not configured, a broken urlconf: no route, no failure
        return UNMATCHED
    route: str = match.route
    if not route:
        return UNMATCHED
    return route if route.startswith("/") else "/" + route
