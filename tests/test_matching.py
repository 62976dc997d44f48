"""The pure matching package: blocking keys, Fellegi-Sunter scores, EM."""

from __future__ import annotations

import random
from datetime import date

from intake.matching import (Parameters, Record, birth_date_variants, chart_keys, compare,
                             estimate, given_forms, probe_keys, score)


def rec(**fields):
    base = {"given_name": "William", "family_name": "Johnson", "birth_date": date(1980, 3, 14),
            "sex": "male", "phone_mobile": "+12175550143"}
    return Record.from_fields({**base, **fields})


def test_nicknames_come_from_the_package_list():
    assert "william" in given_forms("bill")
    assert "margaret" in given_forms("peggy")
    assert given_forms("zzyzx") == {"zzyzx"}


def test_birth_date_variants():
    variants = birth_date_variants(date(1980, 3, 14))
    assert date(1980, 3, 15) in variants  # one digit wrong
    assert date(1908, 3, 14) in variants  # adjacent digits transposed
    assert date(2080, 3, 14) in variants  # century
    assert date(1980, 3, 14) not in variants
    assert date(1980, 4, 3) in birth_date_variants(date(1980, 3, 4))  # day and month swapped


def test_misspelt_family_and_mistyped_birth_date_share_a_key():
    chart = rec()
    probe = rec(family_name="Jonsen", birth_date=date(1980, 3, 15), phone_mobile=None)
    assert chart_keys(chart) & probe_keys(probe)


def test_swapped_names_and_nickname_share_a_key():
    chart = rec()
    assert chart_keys(chart) & probe_keys(rec(given_name="Johnson", family_name="William",
                                              phone_mobile=None))
    assert chart_keys(chart) & probe_keys(rec(given_name="Bill", birth_date=date(1981, 7, 1),
                                              phone_mobile=None))


def test_one_letter_probe_has_no_keys():
    assert probe_keys(Record.from_fields({"family_name": "J"})) == set()


def test_levels_and_reasons():
    params = Parameters.default()
    m = score(rec(family_name="Jonson", given_name="Bill", phone_mobile=None), rec(), params)
    assert m.levels["family"] in ("close", "phonetic") and m.levels["given"] == "nickname"
    assert "same date of birth" in m.reasons
    assert any("Jonson / Johnson" in r for r in m.reasons)
    assert any("Bill" in r and "nickname" in r for r in m.reasons)
    assert m.score >= 90
    swapped = score(rec(given_name="Johnson", family_name="William"), rec(), params)
    assert "given and family names swapped" in swapped.reasons and swapped.score >= 90
    other = score(rec(given_name="Chidi", family_name="Okafor", phone_mobile=None), rec(), params)
    assert other.score < 50


def test_em_learns_from_labelled_looking_data():
    """People drawn from small pools (so strangers share values now and
    then); blocked pairs are one third duplicates, the rest strangers who
    share a family name. EM finds m high and u low for exact agreement."""
    rng = random.Random(3)
    givens = [f"given{c}" for c in "abcdefghijklmnopqrst"]
    families = [f"family{c}" for c in "abcdefghijklmnopqrstuvwxyz"]

    def person(family=None):
        return rec(given_name=rng.choice(givens), family_name=family or rng.choice(families),
                   birth_date=date(1940 + rng.randint(0, 50), rng.randint(1, 12), rng.randint(1, 28)),
                   phone_mobile=f"+1217555{rng.randint(0, 9999):04d}", sex=rng.choice(["male", "female"]))

    blocked = []
    for i in range(900):
        a = person()
        b = a if i % 3 == 0 else person(family=a.family_raw)
        blocked.append(compare(a, b)[0])
    randoms = [compare(person(), person())[0] for _ in range(3000)]
    fitted = estimate(blocked, randoms, total_pairs=900 * 900)
    m, u = fitted.levels["birth_date"]["exact"]
    assert m > 0.9 and u < 0.01
    assert fitted.levels["given"]["exact"][1] > 0.02  # 1 in 20 strangers share a given name
    assert 0 < fitted.prior < 0.01
    assert Parameters.from_json(fitted.to_json()).levels == fitted.levels
