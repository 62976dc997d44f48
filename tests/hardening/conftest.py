"""Fixtures shared by the hardening tests. Names start with hz_ (several
files add to this module)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask


@pytest.fixture
def hz_server(app: Flask, tmp_path: Path,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Any]]:
    """Start gunicorn (tests/hardening/servers.Server) on this test's
    database: hz_server(workers=2, threads=4) waits until it answers,
    hz_server(wait=False) only launches it (call .wait_ready()). Every server
    started is stopped, killed if need be, at the end."""
    from tests.hardening.servers import Server

    started: list[Any] = []
    pycache = tmp_path_factory.getbasetemp() / "hz-pycache"

    def start(wait: bool = True, **kwargs: Any) -> Any:
        server = Server(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, pycache=pycache,
                        **kwargs)
        started.append(server)
        return server.start() if wait else server.launch()

    try:
        yield start
    finally:
        for server in started:
            server.stop()


@pytest.fixture
def hz_receptionist(create_user: Callable[..., Any]) -> Callable[[], str]:
    """A receptionist with the servers' password; returns the username."""
    from tests.hardening.servers import PASSWORD

    def make() -> str:
        return create_user("receptionist", password=PASSWORD)[1]
    return make
