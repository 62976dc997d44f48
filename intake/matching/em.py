"""Fit m, u and the prior to a practice's own charts, as Splink and
recordlinkage do: u from pairs of charts drawn at random (almost all two
different people), m by expectation-maximisation over the pairs the blocking
keys bring together, starting from the defaults. Levels a practice never
shows keep their default value (a small count cannot estimate them)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

from intake.matching.scoring import FIELDS, Parameters

Levels = dict[str, str | None]
MIN_PAIRS = 200  # below this, the defaults stand
# m: EM's counts blended with the defaults as if they had been seen on this
# many pairs, so a few hundred odd pairs cannot swing a level far.
M_PSEUDO_PAIRS = 50.0
# u: a level seen fewer times than this among the random pairs keeps its
# default u (a rare agreement cannot be measured on a sample; zero would
# make it certain proof).
U_MIN_SEEN = 10


def _pattern(levels: Levels) -> tuple[str | None, ...]:
    return tuple(levels[f] for f in FIELDS)


def _m_smoothed(counts: Counter[str], defaults: dict[str, tuple[float, float]]) -> dict[str, float]:
    total = sum(counts.values()) + M_PSEUDO_PAIRS
    return {lv: (counts[lv] + M_PSEUDO_PAIRS * mu[0]) / total for lv, mu in defaults.items()}


def _u_measured(counts: Counter[str], defaults: dict[str, tuple[float, float]]) -> dict[str, float]:
    """Observed shares for the levels seen often enough, defaults for the
    rest; the last level ("other") takes what is left."""
    total = sum(counts.values())
    levels = list(defaults)
    u = {lv: (counts[lv] / total if total and counts[lv] >= U_MIN_SEEN else defaults[lv][1])
         for lv in levels[:-1]}
    u[levels[-1]] = max(1.0 - sum(u.values()), 1e-6)
    return u


def estimate(blocked: Iterable[Levels], random_pairs: Iterable[Levels], *,
             total_pairs: int, start: Parameters | None = None,
             iterations: int = 25) -> Parameters:
    """Parameters fitted to `blocked` (comparison levels of the pairs the
    blocking found) and `random_pairs` (levels of random pairs); `total_pairs`
    is the number of all possible pairs, which turns the share of matches
    among blocked pairs into the prior for a probe and any one chart."""
    params = start or Parameters.default()
    patterns = Counter(_pattern(lv) for lv in blocked)
    n = sum(patterns.values())
    if n < MIN_PAIRS:
        return params

    # u: observed frequencies among random pairs.
    u_counts: dict[str, Counter[str]] = {f: Counter() for f in FIELDS}
    for levels in random_pairs:
        for f in FIELDS:
            if levels[f] is not None:
                u_counts[f][levels[f]] += 1
    levels_u = {f: _u_measured(u_counts[f], params.levels[f]) for f in FIELDS}
    levels_m = {f: {lv: mu[0] for lv, mu in params.levels[f].items()} for f in FIELDS}

    share = 0.1  # matches among the blocked pairs: a start
    for _ in range(iterations):
        m_counts: dict[str, Counter[str]] = {f: Counter() for f in FIELDS}
        expected = 0.0
        for pattern, count in patterns.items():
            log_m = math.log(share)
            log_u = math.log(1 - share)
            for f, lv in zip(FIELDS, pattern, strict=True):
                if lv is not None:
                    log_m += math.log(levels_m[f][lv])
                    log_u += math.log(levels_u[f][lv])
            p = 1 / (1 + math.exp(max(-700.0, min(700.0, log_u - log_m))))
            expected += p * count
            for f, lv in zip(FIELDS, pattern, strict=True):
                if lv is not None:
                    m_counts[f][lv] += p * count
        share = min(max(expected / n, 1e-6), 1 - 1e-6)
        levels_m = {f: _m_smoothed(m_counts[f], params.levels[f]) for f in FIELDS}

    prior = min(max(share * n / max(total_pairs, 1), 1e-12), 0.5)
    return Parameters(levels={f: {lv: (levels_m[f][lv], levels_u[f][lv]) for lv in params.levels[f]}
                              for f in FIELDS},
                      prior=prior, trained_on=n)
