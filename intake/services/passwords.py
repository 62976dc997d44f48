"""Password strength: one check for every place a password is chosen (new
accounts, the admin's reset, the user's own change, `intake users create`,
the first admin from INTAKE_ADMIN_PASSWORD).

Refused: fewer than MIN_LENGTH characters; a password on the bundled list
of common passwords (intake/data/common-passwords.txt.gz, 30,000 from
leaked-password corpora; tools/build_common_passwords.py), also when it is
one of them with digits or symbols around it, capitals or l33t
substitutions (`Password1234!`, `p@ssw0rd2026`); one character or a short
pattern repeated (`111111111111`, `abcabcabcabc`); and anything zxcvbn, the
maintained estimator, scores below INTAKE_PASSWORD_MIN_SCORE (default 3 of
4), with its own advice. The username and the practice's words count
against a password that contains them.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterable
from functools import cache
from importlib import resources

from flask import current_app, has_app_context
from zxcvbn import zxcvbn

from intake.services import FieldErrors

MIN_LENGTH = 12
MAX_CHECKED = 100  # zxcvbn is slow on very long input; past this, length alone is plenty
_LEET = str.maketrans({"@": "a", "4": "a", "3": "e", "1": "i", "!": "i", "0": "o", "$": "s",
                       "5": "s", "7": "t", "+": "t"})
_AROUND = re.compile(r"^[\d\W_]+|[\d\W_]+$")
_REPEATED = re.compile(r"^(.{1,4}?)\1+$", re.DOTALL)


@cache
def common_passwords() -> frozenset[str]:
    data = resources.files("intake.data").joinpath("common-passwords.txt.gz").read_bytes()
    return frozenset(gzip.decompress(data).decode().split())


def _is_common(password: str) -> bool:
    common = common_passwords()
    lowered = password.lower()
    core = _AROUND.sub("", lowered)
    candidates = {lowered, core, lowered.translate(_LEET), core.translate(_LEET),
                  _AROUND.sub("", lowered.translate(_LEET))}
    return any(c in common for c in candidates if c)


def problems(password: str, *, user_inputs: Iterable[str] = ()) -> list[str]:
    """What is wrong with `password` as a new password (empty: it will do)."""
    if len(password) < MIN_LENGTH:
        return [f"Use at least {MIN_LENGTH} characters."]
    if _REPEATED.fullmatch(password):
        return ["A repeated character or pattern is guessed at once: choose something else."]
    if _is_common(password):
        return ["That is one of the most common passwords (or one with digits or symbols "
                "added): choose another."]
    if len(password) > MAX_CHECKED:
        return []
    minimum = current_app.config.get("INTAKE_PASSWORD_MIN_SCORE", 3) if has_app_context() else 3
    result = zxcvbn(password[:MAX_CHECKED], user_inputs=[u for u in user_inputs if u])
    if result["score"] >= minimum:
        return []
    feedback = result.get("feedback") or {}
    advice = " ".join(filter(None, [feedback.get("warning"), *feedback.get("suggestions", [])]))
    return [("Too easy to guess. " + advice).strip() + " A few unrelated words make a strong "
            "password that is easy to remember."]


def require_strong(password: str, *, field: str = "password",
                   user_inputs: Iterable[str] = ()) -> None:
    """Raise FieldErrors on `field` when `password` is too weak."""
    found = problems(password, user_inputs=user_inputs)
    if found:
        raise FieldErrors({field: found})
