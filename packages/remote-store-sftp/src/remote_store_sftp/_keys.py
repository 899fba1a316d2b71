"""Private keys: load from a path, PEM text or `Secret`; repair PEM text mangled by secret stores."""

from __future__ import annotations

import base64
import binascii
import io
import os
import re
from typing import TYPE_CHECKING

from remote_store import Secret
from remote_store.errors import ConfigError

if TYPE_CHECKING:
    import paramiko

_PEM_RE = re.compile(
    r"-----BEGIN (?P<label>[A-Z0-9 ]+)-----(?P<body>.*?)-----END (?P=label)-----",
    re.DOTALL,
)
_HEADER_RE = re.compile(r"(Proc-Type:\s*\S+|DEK-Info:\s*\S+)")


def looks_like_pem(text: str) -> bool:
    """Whether ``text`` is key material rather than a file path."""
    return "-----BEGIN " in text


def repair_pem(text: str) -> str:
    """Return ``text`` as a well-formed PEM block, undoing common secret-store damage.

    Secret stores and environment variables often lose the newlines of a PEM key: they
    become spaces, literal ``\\n`` sequences, ``\\r\\n``, or vanish. The base64 body is
    re-wrapped at 64 columns; ``Proc-Type`` / ``DEK-Info`` headers of encrypted legacy
    PEM keys are kept on their own lines.

    Args:
        text: The key text.

    Returns:
        Normalised PEM text ending with a newline.

    Raises:
        ConfigError: There is no complete ``-----BEGIN … -----END …`` block, or its body is not
            base64 even after repair (the message never contains the key).
    """
    cleaned = text.replace("\\r\\n", "\n").replace("\\n", "\n").replace("\r\n", "\n").replace("\r", "\n")
    cleaned = cleaned.strip().strip("\"'")
    match = _PEM_RE.search(cleaned)
    if match is None:
        raise ConfigError(
            "private_key looks like PEM text but has no complete '-----BEGIN …-----' / '-----END …-----' block"
        )
    label = match.group("label").strip()
    body = match.group("body")
    headers = [re.sub(r":\s*", ": ", h) for h in _HEADER_RE.findall(body)]
    body = _HEADER_RE.sub(" ", body)
    b64 = "".join(body.split())
    try:
        base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(
            f"private_key PEM block '{label}' has a body that is not base64; "
            "the key text was damaged (check how the secret store keeps newlines)"
        ) from None
    lines = [f"-----BEGIN {label}-----", *headers]
    if headers:
        lines.append("")
    lines.extend(b64[i : i + 64] for i in range(0, len(b64), 64))
    lines.append(f"-----END {label}-----")
    return "\n".join(lines) + "\n"


def load_private_key(value: str | Secret | os.PathLike[str], passphrase: str | Secret | None) -> paramiko.PKey:
    """Load a private key for publickey authentication.

    Args:
        value: A key file path (``~`` expanded), PEM text (OpenSSH, PKCS#8 or legacy PEM), or a
            `Secret` holding either. Damaged PEM text is repaired (`repair_pem`).
        passphrase: Passphrase of an encrypted key, or None.

    Returns:
        A ``paramiko.PKey`` (ed25519, ECDSA or RSA).

    Raises:
        ConfigError: The file is missing, the text is not a key, the key type is unsupported,
            or the key is encrypted and the passphrase is missing or wrong.
    """
    import paramiko

    pw = passphrase.reveal() if isinstance(passphrase, Secret) else passphrase
    raw = value.reveal() if isinstance(value, Secret) else os.fspath(value)
    if looks_like_pem(raw):
        text = repair_pem(raw)
        source = "private_key text"
    else:
        path = os.path.expanduser(raw)
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError as exc:
            raise ConfigError(f"private_key file {path!r} cannot be read: {exc.strerror or exc}") from None
        if looks_like_pem(text):
            text = repair_pem(text)
        source = f"private_key file {path!r}"
    last: Exception | None = None
    for cls in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            key: paramiko.PKey = cls.from_private_key(io.StringIO(text), password=pw)
            return key
        except paramiko.PasswordRequiredException:
            raise ConfigError(f"{source} is encrypted: give private_key_passphrase") from None
        except (paramiko.SSHException, ValueError, TypeError) as exc:
            last = exc
    detail = type(last).__name__ if last is not None else "unknown"
    if pw is not None and last is not None and "password" in str(last).lower():
        raise ConfigError(f"{source}: wrong private_key_passphrase") from None
    raise ConfigError(f"{source} is not a supported private key (ed25519, ECDSA, RSA): {detail}") from None
