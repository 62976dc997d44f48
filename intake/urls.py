"""Absolute URLs (FHIR Content-Location, bulk-export manifests, paging
links, CapabilityStatement) are built from INTAKE_BASE_URL when it is set,
never from the request's Host header; and the Host header itself must be
one of TRUSTED_HOSTS (Flask answers 400 otherwise).

TRUSTED_HOSTS comes from INTAKE_TRUSTED_HOSTS (a list, or comma-separated),
else the base URL's host plus this machine's loopback names. Every feature
that puts an absolute URL in a response calls `external_url()` (or
`absolute()` for a path it already has)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, request, url_for

LOOPBACK = ["localhost", "127.0.0.1", "::1"]


def _base() -> str | None:
    base = current_app.config.get("INTAKE_BASE_URL")
    if not base:
        return None
    parts = urlsplit(str(base))
    return f"{parts.scheme}://{parts.netloc}"


def absolute(path: str) -> str:
    """`path` (as url_for gives it, script root included) made absolute."""
    base = _base()
    return (base if base is not None else request.host_url.rstrip("/")) + path


def external_url(endpoint: str, **values: Any) -> str:
    base = _base()
    if base is None:
        return url_for(endpoint, _external=True, **values)
    return base + url_for(endpoint, **values)


def configure(app: Flask) -> None:
    """TRUSTED_HOSTS from configuration (called by create_app)."""
    if app.config.get("TRUSTED_HOSTS"):
        return
    hosts = app.config.get("INTAKE_TRUSTED_HOSTS")
    if isinstance(hosts, str):
        hosts = [h.strip() for h in hosts.split(",") if h.strip()]
    if not hosts:
        hosts = list(LOOPBACK)
        base = app.config.get("INTAKE_BASE_URL")
        if base and urlsplit(str(base)).hostname:
            hosts.insert(0, urlsplit(str(base)).hostname)
    app.config["TRUSTED_HOSTS"] = list(hosts)
