"""Search: code prefixes and description word prefixes, checked against a linear scan."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intake.codes.engine import CodeEngine
from intake.codes.search import SearchIndex, words
from intake.codes.systems import System
from intake.codes.table import CodeTable

NaiveSearch = Callable[[CodeTable, Sequence[str], int, int], list[int]]

FY2026 = date(2025, 11, 3)


@pytest.mark.parametrize(
    "query",
    [
        ["diabetes"],
        ["diab"],
        ["type", "2", "diab"],
        ["fract", "femur", "init"],
        ["asthma", "uncomp"],
        ["alzheimer"],
        ["sequard"],
        ["fracture"],
        ["zzzz"],
        ["hypertens", "chronic", "kidney"],
    ],
)
def test_icd10cm_word_search_matches_a_linear_scan(
    engine: CodeEngine, naive_search: NaiveSearch, query: list[str]
) -> None:
    table = engine.table_for(System.ICD10CM, FY2026)
    assert table is not None
    day = FY2026.toordinal()
    assert table.search_rows(query, day, 25) == naive_search(table, query, day, 25)


@given(data=st.data(), system=st.sampled_from([System.HCPCS, System.MODIFIER, System.POS]))
@settings(max_examples=60, deadline=None)
def test_small_tables_word_search_matches_a_linear_scan(
    engine: CodeEngine, naive_search: NaiveSearch, data: st.DataObject, system: System
) -> None:
    table = engine.table_for(system, date(2026, 6, 2))
    assert table is not None
    vocab = table.index.vocab
    query = data.draw(st.lists(st.sampled_from(vocab).map(lambda w: w[: max(1, len(w) // 2)]), min_size=1, max_size=3))
    limit = data.draw(st.integers(1, 30))
    day = date(2026, 6, 2).toordinal()
    assert table.search_rows(query, day, limit) == naive_search(table, query, day, limit)


def test_stored_index_equals_a_fresh_build(engine: CodeEngine) -> None:
    table = engine.table_for(System.HCPCS, date(2026, 6, 2))
    assert table is not None
    fresh = SearchIndex.build(table.kinds, table.descriptions)
    assert fresh.vocab == table.index.vocab
    assert list(fresh.postings) == list(table.index.postings)


def test_word_search_ranks_billable_short_descriptions_first(engine: CodeEngine) -> None:
    hits = engine.search("asthma", "icd10cm", 5, FY2026)
    assert [h.code for h in hits] == ["J45.998", "J82.83", "J45.991", "J45.909", "J45.30"]
    assert all(h.billable for h in hits)
    assert [len(h.display) for h in hits] == sorted(len(h.display) for h in hits)


def test_code_prefix_search_in_code_order(engine: CodeEngine) -> None:
    hits = engine.search("e11.6", "icd10cm", 4, FY2026)
    assert [h.code for h in hits] == ["E11.6", "E11.61", "E11.610", "E11.618"]
    assert not hits[0].billable


def test_search_across_systems(engine: CodeEngine) -> None:
    hits = engine.search("wheelchair", limit=10, date_of_service=date(2026, 6, 2))
    systems = {h.system for h in hits}
    assert {System.HCPCS, System.ICD10CM} <= systems
    assert hits[0].code == "K0001"


def test_search_skips_codes_not_in_force(engine: CodeEngine) -> None:
    codes = {h.code for h in engine.search("care management", "hcpcs", 50, date(2026, 6, 2))}
    assert "G0506" in codes
    assert "G0507" not in codes  # terminated 2017-12-31


def test_search_falls_back_to_the_newest_table(engine: CodeEngine) -> None:
    """Typing ahead must not go blank when no table covers the date; check() says what is wrong."""
    assert engine.search("E11.9", "icd10cm", 1, date(2026, 11, 2))[0].code == "E11.9"


def test_search_limit_and_nonsense(engine: CodeEngine) -> None:
    assert len(engine.search("fracture", limit=7, date_of_service=FY2026)) == 7
    assert engine.search("qqqxj", date_of_service=FY2026) == []
    assert engine.search("  ", date_of_service=FY2026) == []
    assert engine.search("of the", date_of_service=FY2026) == []


def test_words_fold_accents_apostrophes_and_stopwords() -> None:
    assert words("Brown-Séquard syndrome of the C1") == ["brown", "sequard", "syndrome", "c1"]
    assert words("Alzheimer's disease") == ["alzheimers", "disease"]
