"""Fixtures for the code-table tests: the bundled engine, an empty instance, a CLI runner."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner

from intake.codes.engine import CodeEngine, load_engine
from intake.codes.search import rank_key, words
from intake.codes.table import CodeTable

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def engine() -> CodeEngine:
    """The engine over the bundled tables only, loaded once for the session."""
    return load_engine(None)


@pytest.fixture
def instance(tmp_path: Path) -> Path:
    """An empty instance directory."""
    path = tmp_path / "instance"
    path.mkdir()
    return path


@pytest.fixture
def fixture_file(tmp_path: Path):
    """Copy a fixture to a scratch directory (importers infer the year from its name)."""

    def copy(name: str, as_name: str | None = None) -> Path:
        target = tmp_path / (as_name or name)
        shutil.copy(FIXTURES / name, target)
        return target

    return copy


@pytest.fixture
def runner(instance: Path) -> FlaskCliRunner:
    """A CLI runner on a bare Flask app whose instance is the empty instance."""
    return Flask(__name__, instance_path=str(instance)).test_cli_runner()


NaiveSearch = Callable[[CodeTable, Sequence[str], int, int], list[int]]


@pytest.fixture(scope="session")
def naive_search() -> NaiveSearch:
    """The obvious linear scan that the search index must agree with."""
    return _naive_search


def _naive_search(table: CodeTable, prefixes: Sequence[str], day_ordinal: int, limit: int) -> list[int]:
    """The obvious linear scan the index must agree with."""
    hits = [
        row
        for row in range(len(table))
        if table.in_force(row, day_ordinal)
        and all(any(w.startswith(p) for w in words(table.descriptions[row])) for p in prefixes)
    ]
    hits.sort(key=lambda row: rank_key(table.kinds[row], table.descriptions[row], row))
    return hits[:limit]
