"""Blocking keys: short strings stored once per chart (indexed) and looked up
for a probe. A chart is a candidate when it shares any key with the probe;
each key is narrow enough that its block stays small at a million charts.

Chart side (`chart_keys`):
  nd:  family name's phonetic code + date of birth   (given name misspelt)
  gd:  given name's phonetic code + date of birth    (family name misspelt, or changed)
  ng:  family + given phonetic codes                 (date of birth wrong)
  di:  date of birth + both initials                 (both names misspelt)
  ph:  each phone number;  em: the email;  ad: the address key

The given name enters through its nickname forms (Bill keys as bill and
william), so a nickname meets its formal name in every name block.

Probe side (`probe_keys`) adds the mistakes the chart side cannot foresee:
given and family names swapped, and the date of birth with one digit wrong,
two adjacent digits transposed, day and month swapped, or the century wrong
(a two-digit year read as 19xx or 20xx), looked up in the nd and gd blocks."""

from __future__ import annotations

from datetime import date

from intake.matching.record import Record, given_forms, phonetic_codes

KEY_LENGTH = 64


def _name_keys(family: str, given: str, dobs: list[date]) -> set[str]:
    keys: set[str] = set()
    families = phonetic_codes(family)
    givens = set().union(*(phonetic_codes(g) for g in given_forms(given))) if given else set()
    for f in families:
        keys |= {f"ng:{f}|{g}" for g in givens}
        keys |= {f"nd:{f}|{d.isoformat()}" for d in dobs}
    for g in givens:
        keys |= {f"gd:{g}|{d.isoformat()}" for d in dobs}
    if family and given:
        keys |= {f"di:{d.isoformat()}|{family[0]}{given[0]}" for d in dobs[:1]}
    return keys


def _contact_keys(record: Record) -> set[str]:
    keys = {f"ph:{p}" for p in record.phones}
    if record.email:
        keys.add(f"em:{record.email}")
    if record.address:
        keys.add(f"ad:{record.address}")
    return keys


def chart_keys(record: Record) -> set[str]:
    dobs = [record.birth_date] if record.birth_date else []
    keys = _name_keys(record.family, record.given, dobs) | _contact_keys(record)
    return {k[:KEY_LENGTH] for k in keys}


def birth_date_variants(day: date) -> list[date]:
    """The dates a clerk may have meant: one digit of YYYYMMDD wrong, two
    adjacent digits transposed, day and month swapped, the century wrong."""
    digits = day.strftime("%Y%m%d")
    texts: set[str] = set()
    for i, old in enumerate(digits):
        texts |= {digits[:i] + new + digits[i + 1:] for new in "0123456789" if new != old}
    for i in range(len(digits) - 1):
        texts.add(digits[:i] + digits[i + 1] + digits[i] + digits[i + 2:])
    texts.add(f"{digits[:4]}{digits[6:8]}{digits[4:6]}")
    for year in (day.year - 100, day.year + 100):
        texts.add(f"{year:04d}{digits[4:]}")
    variants = set()
    for text in texts:
        try:
            variants.add(date(int(text[:4]), int(text[4:6]), int(text[6:])))
        except ValueError:
            continue
    variants.discard(day)
    return sorted(v for v in variants if v.year >= 1850)


def probe_keys(record: Record) -> set[str]:
    """Keys to look up for a probe: its own, its names swapped, and its date
    of birth's likely typos. A probe with almost nothing in it (one letter)
    has no keys, and so no candidates."""
    dobs = [record.birth_date] if record.birth_date else []
    if record.birth_date:
        dobs += birth_date_variants(record.birth_date)
    keys: set[str] = set()
    if len(record.family) > 1 or len(record.given) > 1:
        keys |= _name_keys(record.family, record.given, dobs)
        keys |= _name_keys(record.given, record.family, dobs[:1])  # typed in the wrong boxes
    keys |= _contact_keys(record)
    return {k[:KEY_LENGTH] for k in keys}
