"""Labelled duplicate charts for the matching benchmark (not a benchmark:
`make bench` runs bench_*.py only).

Starts from synthetic Faker patients (`_support.patient_rows`) and makes a
second chart for a share of them, with the mistakes front desks make. Each
row carries `cluster`: rows with the same cluster are one person.

Error rates, per duplicate (independent draws, so some carry several):

  DUPLICATED       20%  of people get a second chart
  family typo      12%  one letter replaced, dropped, doubled or two swapped
  given typo       10%
  phonetic         8%   family name respelt as it sounds (ph/f, ck/k, y/i, sen/son...)
  nickname         10%  given name replaced by a nickname from the kept list (when it has one)
  names swapped    4%   given and family typed in each other's boxes
  dob typo         6%   one digit of the date of birth wrong
  dob transposed   2%   two adjacent digits swapped
  dob day/month    3%   day and month swapped (when the day is 12 or less)
  moved            25%  new street address and ZIP
  new phone        25%  new mobile phone
  email missing    30%  email left out;  phone missing 10%;  address missing 10%

Synthetic data only."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

import _support

RATES = {"duplicated": 0.20, "family_typo": 0.12, "given_typo": 0.10, "phonetic": 0.08,
         "nickname": 0.10, "swapped": 0.04, "dob_typo": 0.06, "dob_transposed": 0.02,
         "dob_day_month": 0.03, "moved": 0.25, "new_phone": 0.25, "email_missing": 0.30,
         "phone_missing": 0.10, "address_missing": 0.10}
SOUNDS = (("ph", "f"), ("f", "ph"), ("ck", "k"), ("y", "i"), ("i", "y"), ("son", "sen"),
          ("sen", "son"), ("c", "k"), ("z", "s"), ("s", "z"), ("ll", "l"), ("tt", "t"),
          ("ie", "y"), ("ei", "ie"), ("w", "v"))


def typo(rng: random.Random, word: str) -> str:
    if len(word) < 3:
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(("replace", "drop", "double", "swap"))
    if kind == "replace":
        return word[:i] + rng.choice("abcdefghiklmnoprstuvy") + word[i + 1:]
    if kind == "drop":
        return word[:i] + word[i + 1:]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


def sound_alike(rng: random.Random, word: str) -> str:
    options = [(a, b) for a, b in SOUNDS if a in word.lower()]
    if not options:
        return typo(rng, word)
    a, b = rng.choice(options)
    low = word.lower().replace(a, b, 1)
    return low[:1].upper() + low[1:]


def _date_from(text: str) -> date | None:
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


def dob_typo(rng: random.Random, day: date, kind: str) -> date:
    digits = day.strftime("%Y%m%d")
    for _ in range(20):
        if kind == "digit":
            i = rng.randrange(2, 8)
            text = digits[:i] + rng.choice([d for d in "0123456789" if d != digits[i]]) + digits[i + 1:]
        else:
            i = rng.randrange(2, 7)
            text = digits[:i] + digits[i + 1] + digits[i] + digits[i + 2:]
        new = _date_from(text)
        if new and new != day:
            return new
    return day


def make(n_people: int, seed: int = 18) -> list[dict[str, Any]]:
    """Rows ready for `insert`: the people, then their duplicates, each with
    `cluster` (its person's index)."""
    from intake.matching.record import nicknames
    from intake.normalize import address_key, name_key

    people = _support.patient_rows(n_people, seed=seed)
    rng = random.Random(seed)
    pools = _support.Pools(seed + 1, size=500)
    short_forms: dict[str, list[str]] = {}
    for name, forms in nicknames().items():
        for formal in forms - {name}:
            short_forms.setdefault(formal, []).append(name)
    taken = {p["mrn"] for p in people}
    spare_mrns = [m for m in _support._mrns(random.Random(f"{seed}-dups"), 2 * n_people) if m not in taken]
    rows = [{**p, "cluster": i} for i, p in enumerate(people)]
    for i, person in enumerate(people):
        if rng.random() >= RATES["duplicated"]:
            continue
        d = dict(person, cluster=i, mrn=spare_mrns[i])
        hit = {k: rng.random() < r for k, r in RATES.items()}
        family, given = d["family_name"], d["given_name"]
        if hit["phonetic"]:
            family = sound_alike(rng, family)
        if hit["family_typo"]:
            family = typo(rng, family)
        if hit["nickname"] and short_forms.get(name_key(given)):
            given = rng.choice(short_forms[name_key(given)]).title()
        elif hit["given_typo"]:
            given = typo(rng, given)
        if hit["swapped"]:
            family, given = given, family
        dob = d["birth_date"]
        if hit["dob_typo"]:
            dob = dob_typo(rng, dob, "digit")
        elif hit["dob_transposed"]:
            dob = dob_typo(rng, dob, "transpose")
        elif hit["dob_day_month"] and dob.day <= 12 and dob.day != dob.month:
            dob = dob.replace(month=dob.day, day=dob.month)
        if hit["moved"]:
            d["address_line1"] = rng.choice(pools.streets)
            d["postal_code"] = f"{rng.randint(60000, 62999)}"
        if hit["address_missing"]:
            d["address_line1"] = d["postal_code"] = None
        if hit["new_phone"]:
            d["phone_mobile"] = f"+1{rng.choice(_support.AREA_CODES)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
        if hit["phone_missing"]:
            d["phone_mobile"] = d["phone_home"] = None
        if hit["email_missing"]:
            d["email"] = None
        d.update(family_name=family, given_name=given, family_norm=name_key(family),
                 given_norm=name_key(given), birth_date=dob,
                 address_key=address_key(d["address_line1"], d["postal_code"]))
        identity = ("family_norm", "given_norm", "birth_date", "phone_mobile")
        if d["phone_mobile"] and all(d[k] == person[k] for k in identity):
            d["phone_mobile"] = None  # uq_patients_identity would refuse this chart outright
        rows.append(d)
    return rows


def true_pairs(rows: list[dict[str, Any]], ids: list[int]) -> set[tuple[int, int]]:
    by_cluster: dict[int, list[int]] = {}
    for row, pid in zip(rows, ids, strict=True):
        by_cluster.setdefault(row["cluster"], []).append(pid)
    return {(a, b) for members in by_cluster.values() for a in members for b in members if a < b}


def quality(predicted: set[tuple[int, int]], truth: set[tuple[int, int]]) -> dict[str, float]:
    tp = len(predicted & truth)
    precision = tp / len(predicted) if predicted else 1.0
    recall = tp / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "pairs": len(predicted), "true": len(truth)}
