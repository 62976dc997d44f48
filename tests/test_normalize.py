from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from intake.normalize import (clean_text, format_phone, is_valid_mbi, is_valid_zip, name_key,
                              parse_phone)
from intake.services.patients import classify_query, is_valid_mrn


@pytest.mark.parametrize("mbi", ["1EG4-TE5-MK73", "1eg4te5mk73", "9AA0A00AA00", "1EG4 TE5 MK73"])
def test_valid_mbis(mbi):
    assert is_valid_mbi(mbi)


@pytest.mark.parametrize("mbi", ["0EG4TE5MK73", "1SG4TE5MK73", "1EG4TE5MK7", "123456789A",
                                 "1EG4TE5MK733", "1EG4-TE5-MO73", ""])
def test_invalid_mbis(mbi):
    assert not is_valid_mbi(mbi)


def test_phone_parsing():
    assert parse_phone("(312) 555-0199") == "+13125550199"
    assert parse_phone("+48 22 123 45 67") == "+48221234567"
    assert format_phone("+13125550199") == "(312) 555-0199"
    with pytest.raises(ValueError):
        parse_phone("12")


def test_name_keys_fold_every_script_to_ascii():
    assert name_key("Łukasz") == "lukasz"
    assert name_key("Ștefan") == "stefan"
    assert name_key("Ñúñez") == "nunez"
    assert name_key("O'Brien-Smith") == "obriensmith"


def test_zip():
    assert is_valid_zip("60614") and is_valid_zip("60614-2231")
    assert not is_valid_zip("6061") and not is_valid_zip("606142231")


def test_query_classification():
    terms = classify_query("wojcik 03/14/1980 (217) 555-0143")
    assert terms["names"] == ["wojcik"]
    assert str(terms["birth_date"]) == "1980-03-14"
    assert terms["phone"] == "+12175550143"


def test_mrn_check_digit():
    from intake.normalize import luhn_check_digit

    body = "123456789"
    assert is_valid_mrn(body + luhn_check_digit(body))
    assert not is_valid_mrn(body + str((int(luhn_check_digit(body)) + 1) % 10))


@pytest.mark.parametrize("npi, ok", [("1234567893", True), ("1245319599", True),
                                     ("1234567890", False), ("123456789", False), ("", False)])
def test_npi_luhn_over_80840(npi, ok):
    from intake.normalize import is_valid_npi

    assert is_valid_npi(npi) is ok


@given(st.text())
def test_normalisers_never_raise_and_are_idempotent(text):
    key = name_key(text)
    assert name_key(key) == key
    cleaned = clean_text(text)
    assert clean_text(cleaned) == cleaned
    classify_query(text)
