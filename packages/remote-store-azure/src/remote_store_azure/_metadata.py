"""User metadata as Azure stores it: validated, never re-encoded.

Azure metadata names must be C# identifiers (``[A-Za-z_][A-Za-z0-9_]*``, compared
case-insensitively) and values travel as HTTP header values (printable ASCII; the service
trims surrounding whitespace). A pair that follows those rules is stored exactly as given,
so every other Azure tool sees the same names and values; anything else is refused with an
error naming the rule. Nothing is encoded privately.

One name is not user metadata: ``Content-Encoding`` (not an identifier, so it can never
clash with a stored name) stands for the blob's Content-Encoding property. `FileInfo` reports
it there, and a write that passes it sets that property, so a copy through another tool
keeps it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from remote_store.errors import InvalidPath

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_VALUE = re.compile(r"(?:[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?)?")
#: Azure's limit on the total size of metadata names and values, bytes.
MAX_METADATA_BYTES = 8 * 1024
#: The pseudo-name under which FileInfo/WriteResult metadata carry the blob's Content-Encoding.
CONTENT_ENCODING = "Content-Encoding"
#: Metadata name other tools (ADLS Gen2, hadoop-azure, azcopy) put on a folder blob.
FOLDER_FLAG = "hdi_isfolder"


def split_metadata(metadata: Mapping[str, str], *, key: str | None = None) -> tuple[dict[str, str], str | None]:
    """Check ``metadata`` against Azure's rules; return ``(blob metadata, content encoding)``.

    Args:
        metadata: User metadata as the caller gave it (str → str).
        key: The key being written, named in errors.

    Returns:
        The metadata to send (unchanged pairs) and the ``Content-Encoding`` pseudo-entry or None.

    Raises:
        InvalidPath: A name is not a C# identifier, a value is not printable ASCII or has
            leading/trailing whitespace, two names differ only in case, or the total exceeds
            Azure's 8 KiB limit. The message names the rule.
    """
    out: dict[str, str] = {}
    encoding: str | None = None
    seen: set[str] = set()
    for name, value in metadata.items():
        if name == CONTENT_ENCODING:
            encoding = value or None
            continue
        if not _IDENT.fullmatch(name):
            raise InvalidPath(
                f"metadata name {name!r} is refused by Azure: names must be C# identifiers "
                "(ASCII letters, digits and '_', not starting with a digit)",
                path=key,
            )
        if not _VALUE.fullmatch(value):
            raise InvalidPath(
                f"metadata value of {name!r} is refused by Azure: values must be printable ASCII "
                "without leading or trailing whitespace",
                path=key,
            )
        folded = name.lower()
        if folded in seen:
            raise InvalidPath(
                f"metadata names differ only in case, which Azure cannot store (names are case-insensitive): {name!r}",
                path=key,
            )
        seen.add(folded)
        out[name] = value
    if sum(len(k) + len(v) for k, v in out.items()) > MAX_METADATA_BYTES:
        raise InvalidPath("metadata exceeds Azure's 8 KiB limit on names and values", path=key)
    return out, encoding


def is_folder_blob(metadata: Mapping[str, str] | None) -> bool:
    """Whether blob metadata marks an ADLS-style folder blob (``hdi_isfolder=true``, any case)."""
    if not metadata:
        return False
    return any(name.lower() == FOLDER_FLAG and str(value).lower() == "true" for name, value in metadata.items())


def reported_metadata(stored: Mapping[str, str] | None, content_encoding: str | None) -> dict[str, str]:
    """The metadata a `FileInfo` reports: the stored pairs as they are, plus ``Content-Encoding``."""
    out = dict(stored or {})
    if content_encoding:
        out[CONTENT_ENCODING] = content_encoding
    return out
