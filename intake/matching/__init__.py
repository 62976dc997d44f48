"""Duplicate-chart matching, pure (no Flask, no database): records, blocking
keys, Fellegi-Sunter scores and their EM fit. The services store the keys
and the fitted model; the benchmarks use the same functions."""

from intake.matching.em import estimate
from intake.matching.keys import birth_date_variants, chart_keys, probe_keys
from intake.matching.record import Record, given_forms, phonetic
from intake.matching.scoring import DEFAULT_LEVELS, Match, Parameters, compare, score

__all__ = ["DEFAULT_LEVELS", "Match", "Parameters", "Record", "birth_date_variants", "chart_keys",
           "compare", "estimate", "given_forms", "phonetic", "probe_keys", "score"]
