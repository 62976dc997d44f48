"""Fellegi-Sunter scores: each field of a pair is compared to an agreement
level; each level carries m (how often true duplicates show it) and u (how
often two different people do), and adds log2(m/u) bits. The bits plus the
prior log-odds give the probability that the pair is one person.

`Parameters.default()` is a new practice's model; `em.estimate` refits m, u
and the prior to the practice's own charts."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import jellyfish
from rapidfuzz.distance import Levenshtein

from intake.matching.record import Record, phonetic, same_by_nickname

CLOSE_JARO_WINKLER = 0.88

# field -> level -> (m, u). The last level of each field is "disagrees".
# Defaults from the error rates of registration data in the record-linkage
# literature: names misspelt in a few percent of duplicates, dates of birth
# typed wrong in about one in twenty, phones and addresses changed in a
# third; u from how often two different people share a value (a given name
# about 1 in 100, a family name 1 in 300, a date of birth 1 in 30,000).
DEFAULT_LEVELS: dict[str, dict[str, tuple[float, float]]] = {
    "given": {"exact": (0.82, 0.01), "nickname": (0.04, 0.001), "close": (0.07, 0.004),
              "phonetic": (0.03, 0.006), "other": (0.04, 0.979)},
    "family": {"exact": (0.86, 0.004), "close": (0.07, 0.001), "phonetic": (0.03, 0.002),
               "other": (0.04, 0.993)},
    "birth_date": {"exact": (0.90, 0.00004), "swapped": (0.02, 0.00003),
                   "typo": (0.06, 0.0006), "other": (0.02, 0.99936)},
    "phone": {"exact": (0.6, 0.0002), "other": (0.4, 0.9998)},
    "email": {"exact": (0.7, 0.00005), "other": (0.3, 0.99995)},
    "address": {"exact": (0.6, 0.0005), "postal": (0.1, 0.03), "other": (0.3, 0.9695)},
    "sex": {"exact": (0.97, 0.5), "other": (0.03, 0.5)},
}
# Prior: the chance that a probe and one chart drawn at random are one person
# (a practice of some 10,000 charts, one in ten duplicated).
DEFAULT_PRIOR = 1e-5
FIELDS = tuple(DEFAULT_LEVELS)


@dataclass
class Parameters:
    levels: dict[str, dict[str, tuple[float, float]]]
    prior: float = DEFAULT_PRIOR
    trained_on: int = 0  # pairs EM saw; 0 for the defaults

    @classmethod
    def default(cls) -> Parameters:
        return cls(levels={f: dict(lv) for f, lv in DEFAULT_LEVELS.items()})

    def weight(self, name: str, level: str | None) -> float:
        if level is None:
            return 0.0  # missing on either side: no evidence either way
        m, u = self.levels[name][level]
        return math.log2(m / u)

    def to_json(self) -> dict[str, Any]:
        return {"levels": {f: {lv: list(mu) for lv, mu in levels.items()}
                           for f, levels in self.levels.items()},
                "prior": self.prior, "trained_on": self.trained_on}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Parameters:
        levels = {f: {lv: (float(m), float(u)) for lv, (m, u) in lvs.items()}
                  for f, lvs in data["levels"].items()}
        if set(levels) != set(DEFAULT_LEVELS):  # an older model: start again from the defaults
            return cls.default()
        return cls(levels=levels, prior=float(data["prior"]), trained_on=int(data.get("trained_on", 0)))


# ---- comparisons ---------------------------------------------------------------

def _close(a: str, b: str) -> bool:
    return (jellyfish.jaro_winkler_similarity(a, b) >= CLOSE_JARO_WINKLER
            or Levenshtein.distance(a, b) <= (1 if min(len(a), len(b)) < 5 else 2))


def compare_name(a: str, b: str, *, given: bool) -> str | None:
    if not a or not b:
        return None
    if a == b:
        return "exact"
    if given and same_by_nickname(a, b):
        return "nickname"
    if _close(a, b):
        return "close"
    if phonetic(a) == phonetic(b):
        return "phonetic"
    # Initial against a name, or a middle name carried along: first words agree.
    if a.split()[0] == b.split()[0] and len(a.split()[0]) > 1:
        return "close"
    return "other"


def compare_birth_date(a: date | None, b: date | None) -> str | None:
    if a is None or b is None:
        return None
    if a == b:
        return "exact"
    if a.day <= 12 and (a.month, a.day) == (b.day, b.month):
        return "swapped"
    x, y = a.strftime("%Y%m%d"), b.strftime("%Y%m%d")
    differ = [i for i in range(8) if x[i] != y[i]]
    if (len(differ) == 1
            or (len(differ) == 2 and differ[1] == differ[0] + 1
                and (x[differ[0]], x[differ[1]]) == (y[differ[1]], y[differ[0]]))
            or (abs(a.year - b.year) == 100 and (a.month, a.day) == (b.month, b.day))):
        return "typo"  # the same cases as keys.birth_date_variants, checked directly
    return "other"


def compare(a: Record, b: Record) -> tuple[dict[str, str | None], bool]:
    """Levels per field, and whether the names match better swapped."""
    straight = (compare_name(a.given, b.given, given=True), compare_name(a.family, b.family, given=False))
    crossed = (compare_name(a.given, b.family, given=True), compare_name(a.family, b.given, given=False))
    rank = {"exact": 4, "nickname": 3, "close": 3, "phonetic": 2, "other": 0, None: 0}
    swapped = sum(rank[x] for x in crossed) > sum(rank[x] for x in straight) + 2
    given, family = crossed if swapped else straight
    levels = {
        "given": given, "family": family,
        "birth_date": compare_birth_date(a.birth_date, b.birth_date),
        "phone": ("exact" if a.phones & b.phones else "other") if a.phones and b.phones else None,
        "email": ("exact" if a.email == b.email else "other") if a.email and b.email else None,
        "address": (None if not (a.postal and b.postal) else
                    "exact" if a.address and a.address == b.address else
                    "postal" if a.postal == b.postal else "other"),
        "sex": ("exact" if a.sex == b.sex else "other") if a.sex and b.sex else None,
    }
    return levels, swapped


# ---- the score and its reasons ------------------------------------------------

@dataclass
class Match:
    probability: float
    weight: float
    levels: dict[str, str | None]
    reasons: list[str] = field(default_factory=list)

    @property
    def score(self) -> int:
        """The probability in percent, as the pages show it."""
        return min(100, max(0, math.floor(self.probability * 100)))


def probability(weight: float) -> float:
    return 1.0 / (1.0 + 2.0 ** -weight) if weight > -1000 else 0.0


def _reasons(a: Record, b: Record, levels: dict[str, str | None], swapped: bool) -> list[str]:
    reasons = []
    given_a, given_b = a.given_raw or a.given, b.given_raw or b.given
    family_a, family_b = a.family_raw or a.family, b.family_raw or b.family
    if swapped:
        reasons.append("given and family names swapped")
        given_b, family_b = family_b, given_b
    g, f = levels["given"], levels["family"]
    if g == "exact" and f == "exact" and not swapped:
        reasons.append("same name")
    else:
        words = {"exact": "the same", "close": "spelt nearly the same", "phonetic": "sounds the same"}
        for part, level, x, y in (("family", f, family_a, family_b), ("given", g, given_a, given_b)):
            if level == "nickname":
                reasons.append(f"name {x} is a nickname for {y}" if len(x) < len(y)
                               else f"name {y} is a nickname for {x}")
            elif level in ("close", "phonetic"):
                reasons.append(f"name {words[level]} ({part}): {x} / {y}")
            elif level == "exact":
                reasons.append(f"same {part} name")
    dob = levels["birth_date"]
    reasons += {"exact": ["same date of birth"],
                "swapped": ["date of birth with day and month swapped"],
                "typo": ["date of birth differs by one typo"]}.get(dob or "", [])
    if levels["phone"] == "exact":
        reasons.append("same phone number")
    if levels["email"] == "exact":
        reasons.append("same email")
    if levels["address"] == "exact":
        reasons.append("same address")
    return reasons


def score(a: Record, b: Record, params: Parameters) -> Match:
    levels, swapped = compare(a, b)
    weight = math.log2(params.prior / (1 - params.prior))
    weight += sum(params.weight(name, level) for name, level in levels.items())
    return Match(probability=probability(weight), weight=weight, levels=levels,
                 reasons=_reasons(a, b, levels, swapped))
