"""Secret keys kept outside the database: the audit chain's HMAC key and the
backup signing key. Whoever can write the database (and the anchor file, and
a backup) cannot forge what these sign without also holding the key.

A key named NAME ("audit", "backup") comes from the first of:

- `INTAKE_<NAME>_KEY`: the key itself, 64 hex digits (a secrets manager, the
  service's environment);
- `INTAKE_<NAME>_KEY_FILE`: a file holding it (a mounted secret, removable
  media, a path outside the instance folder);
- `instance/<name>.key`, created owner-only (0600) with 32 random bytes the
  first time it is needed.

A key is never written to the database, logged or shown. Keep a copy off
the machine (README, "Keys"): without the audit key the chain cannot be
checked, without the backup key no backup restores.

`sign(name, purpose, data)` and `signed_by(name, purpose, data, signature)`
are the one way features sign and check: HMAC-SHA256 over `purpose`, a NUL
and the data, so a signature made for one purpose never passes for another.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from pathlib import Path

from flask import current_app

from intake import private

KEY_BYTES = 32
_HEX_KEY = re.compile(r"[0-9a-fA-F]{64}")
_CACHE = "intake.keys"


class MissingKey(Exception):
    """The key is needed to check something but is not there (and must not be
    made up now: a new key would only say everything was forged)."""


def key_path(name: str) -> Path:
    configured = current_app.config.get(f"INTAKE_{name.upper()}_KEY_FILE")
    return Path(configured) if configured else Path(current_app.instance_path) / f"{name}.key"


def _parse(text: str, where: str) -> bytes:
    text = text.strip()
    if not _HEX_KEY.fullmatch(text):
        raise MissingKey(f"{where} does not hold a key (64 hex digits).")
    return bytes.fromhex(text)


def load(name: str, *, create: bool = True) -> bytes:
    """The key named `name`; created in the instance folder when `create` and
    none is configured or there yet (MissingKey otherwise)."""
    cache = current_app.extensions.setdefault(_CACHE, {})
    if name in cache:
        return cache[name]
    given = current_app.config.get(f"INTAKE_{name.upper()}_KEY")
    path = key_path(name)
    if given:
        key = _parse(str(given), f"INTAKE_{name.upper()}_KEY")
    elif path.exists():
        key = _parse(path.read_text(encoding="ascii", errors="replace"), str(path))
    elif create and not current_app.config.get(f"INTAKE_{name.upper()}_KEY_FILE"):
        private.write_new(path, secrets.token_hex(KEY_BYTES) + "\n")
        key = _parse(path.read_text(encoding="ascii"), str(path))  # another process may have won
    else:
        raise MissingKey(f"The {name} key is missing: expected at {path} (or give "
                         f"INTAKE_{name.upper()}_KEY_FILE / INTAKE_{name.upper()}_KEY).")
    cache[name] = key
    return key


def sign(name: str, purpose: str, data: bytes, *, key: bytes | None = None) -> str:
    message = purpose.encode() + b"\0" + data
    return hmac.new(key or load(name), message, hashlib.sha256).hexdigest()


def signed_by(name: str, purpose: str, data: bytes, signature: object, *,
              key: bytes | None = None) -> bool:
    """Whether `signature` is this key's for `data` (constant-time compare)."""
    if not isinstance(signature, str):
        return False
    return hmac.compare_digest(sign(name, purpose, data, key=key), signature)
