"""Regenerate intake/data/common-passwords.txt.gz: the 30,000 most common
passwords of zxcvbn's frequency list (from leaked-password corpora), one a
line, lower-case, in rank order. Bundled so the check works offline and does
not depend on a library's private module layout at run time."""

from __future__ import annotations

import gzip
from pathlib import Path

from zxcvbn.frequency_lists import FREQUENCY_LISTS

TARGET = Path(__file__).resolve().parent.parent / "intake" / "data" / "common-passwords.txt.gz"


def main() -> None:
    words = list(dict.fromkeys(w.lower() for w in FREQUENCY_LISTS["passwords"]))
    with gzip.GzipFile(TARGET, "wb", mtime=0) as out:  # mtime 0: the same bytes every run
        out.write(("\n".join(words) + "\n").encode())
    print(f"{len(words)} passwords -> {TARGET}")


if __name__ == "__main__":
    main()
