"""Reversible mapping between remote-store user metadata and Azure blob metadata.

Azure metadata names must be C# identifiers (``[A-Za-z_][A-Za-z0-9_]*``, compared
case-insensitively) and values travel as HTTP headers (printable ASCII, no leading or
trailing spaces). A pair that already fits is stored unchanged, so other Azure tools see
it as is. Any other pair is stored as ``rsmeta_<hex of the UTF-8 name>`` with the value
in URL-safe base64 of its UTF-8 bytes; reading decodes it back. Names starting with
``rsmeta_`` are always encoded, so the mapping is unambiguous.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping

from remote_store.errors import InvalidPath

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PLAIN_VALUE = re.compile(r"^(?:[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?)?$")
_PREFIX = "rsmeta_"
#: Azure's limit on the total size of metadata names and values, bytes.
MAX_METADATA_BYTES = 8 * 1024


def encode_metadata(metadata: Mapping[str, str], *, key: str | None = None) -> dict[str, str]:
    """Return Azure-safe metadata for ``metadata`` (see the module docstring).

    Raises:
        InvalidPath: Two names differ only in case (Azure names are case-insensitive),
            or the encoded metadata exceeds Azure's 8 KiB limit.
    """
    out: dict[str, str] = {}
    seen: set[str] = set()
    for name, value in metadata.items():
        if _IDENT.match(name) and not name.lower().startswith(_PREFIX) and _PLAIN_VALUE.match(value):
            stored_name, stored_value = name, value
        else:
            stored_name = _PREFIX + name.encode("utf-8").hex()
            stored_value = base64.urlsafe_b64encode(value.encode("utf-8")).decode("ascii")
        folded = stored_name.lower()
        if folded in seen:
            raise InvalidPath(f"metadata names differ only in case, which Azure cannot store: {name!r}", path=key)
        seen.add(folded)
        out[stored_name] = stored_value
    if sum(len(k) + len(v) for k, v in out.items()) > MAX_METADATA_BYTES:
        raise InvalidPath("metadata exceeds Azure's 8 KiB limit", path=key)
    return out


def decode_metadata(stored: Mapping[str, str] | None) -> dict[str, str]:
    """Inverse of `encode_metadata` for metadata read from the service."""
    out: dict[str, str] = {}
    for name, value in (stored or {}).items():
        if name.lower().startswith(_PREFIX):
            try:
                real = bytes.fromhex(name[len(_PREFIX) :]).decode("utf-8")
                out[real] = base64.urlsafe_b64decode(value.encode("ascii")).decode("utf-8")
                continue
            except (ValueError, binascii.Error, UnicodeError):
                pass
        out[name] = value
    return out
