"""Reading the release files offices download: plain text, or the zip it ships in.

CMS and CDC publish their files as zips (the January HCPCS zip holds the
fixed-width text file beside spreadsheets; the CDC code-descriptions zip
holds the order file beside the code list). An importer names the member it
wants with a pattern; a zip without such a member is refused by name.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path


class SourceError(Exception):
    """The file cannot be read as the release it should be; the message says why."""


def read_source_lines(path: Path, member: re.Pattern[str], what: str) -> tuple[list[str], str]:
    """(lines, the name of the file they came from) of a text file, or of its member in a zip.

    ``member`` matches the wanted member's base name (case-insensitive
    patterns are the caller's choice); exactly one member must match.
    """
    try:
        if zipfile.is_zipfile(path):
            return _zip_member_lines(path, member, what)
        return _decode(path.read_bytes()).splitlines(), path.name
    except OSError as error:
        raise SourceError(f"cannot read {path.name}: {error.strerror}") from None


def _zip_member_lines(path: Path, member: re.Pattern[str], what: str) -> tuple[list[str], str]:
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if member.search(n.rsplit("/", 1)[-1])]
            if not names:
                raise SourceError(f"{path.name} holds no {what} (looked for a member named like "
                                  f"{member.pattern!r}): is it the right download?")
            if len(names) > 1:
                raise SourceError(f"{path.name} holds more than one {what}: {', '.join(sorted(names))}")
            data = archive.read(names[0])
    except zipfile.BadZipFile as error:
        raise SourceError(f"{path.name} is a damaged zip: {error}") from None
    return _decode(data).splitlines(), names[0].rsplit("/", 1)[-1]


def _decode(data: bytes) -> str:
    """CMS and CDC files are ASCII; some editors save them as cp1252."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")
