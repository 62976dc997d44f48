from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.kiosk.factories import enrolled_client


@pytest.fixture
def tablet(app: Flask) -> FlaskClient:
    """An enrolled kiosk tablet."""
    return enrolled_client(app)


@pytest.fixture
def make_tablet(app: Flask) -> Callable[..., FlaskClient]:
    return lambda name="Tablet": enrolled_client(app, name)
