"""Helpers for the server-extension tests."""

from __future__ import annotations

import re
from collections.abc import Iterator

from tornado.routing import PathMatches, Router
from tornado.web import Application, RequestHandler

#: Every verb tornado dispatches, with whether a request body goes with it.
VERBS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_BODY_VERBS = {"POST", "PUT", "PATCH"}


def _walk(router: Router) -> Iterator[tuple[str, type[RequestHandler]]]:
    for rule in getattr(router, "rules", []):
        target = rule.target
        if isinstance(target, Router):
            yield from _walk(target)
        elif isinstance(target, type) and issubclass(target, RequestHandler):
            if isinstance(rule.matcher, PathMatches):
                yield rule.matcher.regex.pattern, target


def mm_routes(web_app: Application) -> list[tuple[str, type[RequestHandler]]]:
    """(URL regex, handler class) of every route the jupyter-mm extension registered."""
    routes = [(p, h) for p, h in _walk(web_app.default_router) if "jupyter-mm" in p]
    routes += [(p, h) for p, h in _walk(web_app.wildcard_router) if "jupyter-mm" in p]
    return sorted(set(routes), key=lambda r: r[0])


def implemented_verbs(handler: type[RequestHandler]) -> list[str]:
    return [
        verb
        for verb in VERBS
        if getattr(handler, verb.lower()) is not RequestHandler._unimplemented_method
        and verb in handler.SUPPORTED_METHODS
    ]


def is_public_by_design(handler: type[RequestHandler], verb: str) -> bool:
    """jupyter_server's own ``@allow_unauthenticated`` verbs (APIHandler's CORS-preflight OPTIONS).

    A verb defined by jupyter-mm never counts as public: the tests check that too.
    """
    method = getattr(handler, verb.lower())
    own = getattr(method, "__module__", "").startswith("jupyter_mm")
    return hasattr(method, "__allow_unauthenticated") and not own


def example_path(pattern: str) -> str:
    """A concrete URL path matching a route regex: each group becomes a plausible segment."""
    path = pattern.rstrip("$").lstrip("^")
    # Innermost groups first, so nested groups collapse to one segment.
    group = re.compile(r"\((?:\?P<\w+>)?[^()]*\)")
    while group.search(path):
        # a 32-hex segment fits ids and names; a group that says {64} (a SHA-256) gets 64
        path = group.sub(lambda m: "0123456789abcdef" * (4 if "{64}" in m.group(0) else 2), path)
    path = path.replace("\\", "").replace("?", "")
    return path


def needs_body(verb: str) -> bool:
    return verb in _BODY_VERBS
