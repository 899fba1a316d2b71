"""Typed, immutable configuration: named backends and the stores built on them."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from remote_store import _path
from remote_store._env import resolve_env
from remote_store._secret import Secret, is_secret_key, mask_secrets, wrap_secrets
from remote_store.errors import ConfigError, ConfigKeyError, InvalidPath


def _where(source: str | None) -> str:
    return f" in {source}" if source else ""


@dataclass(frozen=True, slots=True)
class BackendConfig:
    """One named backend.

    Attributes:
        type: Registered backend type (``"local"``, ``"s3"``, ``"sftp"`` …).
        options: Keyword arguments for the backend class; credential-looking keys hold `Secret`.
        env_error: Why ``${VAR}`` resolution failed for this backend (a variable without a
            default is unset), or None. `RegistryConfig.from_dict` records it here instead of
            failing the whole config, so only the stores on this backend fail: building it
            raises `ConfigKeyError` with this text (naming the variable, the key path and the file).
    """

    type: str
    options: Mapping[str, Any] = field(default_factory=dict)
    env_error: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", MappingProxyType(wrap_secrets(self.options)))

    def __repr__(self) -> str:
        return f"BackendConfig(type={self.type!r}, options={mask_secrets(self.options)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (BackendConfig, (self.type, dict(self.options), self.env_error))

    def check_env(self, name: str = "") -> None:
        """Raise if ``${VAR}`` resolution failed for this backend.

        Args:
            name: Backend name, for the message.

        Raises:
            ConfigKeyError: `env_error` is set (the message names the variable and key path).
        """
        if self.env_error is not None:
            raise ConfigKeyError(self.env_error, path=f"backends.{name}.options" if name else None)


@dataclass(frozen=True, slots=True)
class MiddlewareConfig:
    """One middleware in a store profile: a registered middleware name and its options."""

    name: str
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", MappingProxyType(wrap_secrets(self.options)))

    def __repr__(self) -> str:
        return f"MiddlewareConfig(name={self.name!r}, options={mask_secrets(self.options)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (MiddlewareConfig, (self.name, dict(self.options)))


@dataclass(frozen=True, slots=True)
class StoreProfile:
    """One named store: which backend, rooted where, wrapped in which middleware.

    Attributes:
        backend: Name of an entry in `RegistryConfig.backends`.
        root_path: Folder inside the backend (``""`` = the backend root).
        middleware: Middleware applied innermost-first, in the order given.
        strict_keys: The store refuses non-canonical paths (``a//b``) instead of normalising
            them (see `Store`); config key ``strict_keys = true``.
        env_error: Why ``${VAR}`` resolution failed in this store's table, or None; opening
            the store then raises `ConfigKeyError` with it (other stores are unaffected).
    """

    backend: str
    root_path: str = ""
    middleware: tuple[MiddlewareConfig, ...] = ()
    env_error: str | None = None
    strict_keys: bool = False


@dataclass(frozen=True, slots=True)
class RegistryConfig:
    """Named backends and stores; build it with `from_dict` or `from_toml`.

    Attributes:
        backends: Backend name → `BackendConfig`.
        stores: Store name → `StoreProfile`.
        source: Where it was loaded from (file path), for messages; None for dicts.
    """

    backends: Mapping[str, BackendConfig] = field(default_factory=dict)
    stores: Mapping[str, StoreProfile] = field(default_factory=dict)
    source: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "backends", MappingProxyType(dict(self.backends)))
        object.__setattr__(self, "stores", MappingProxyType(dict(self.stores)))
        for name, profile in self.stores.items():
            if profile.env_error is None and profile.backend not in self.backends:
                known = ", ".join(sorted(self.backends)) or "none"
                raise ConfigError(
                    f"stores.{name}.backend names unknown backend '{profile.backend}' (defined: {known}){_where(self.source)}",
                    path=f"stores.{name}.backend",
                )

    def __repr__(self) -> str:
        """Masked like `to_dict`: no secret, URL password or credential query parameter shows."""
        return f"RegistryConfig(backends={dict(self.backends)!r}, stores={dict(self.stores)!r}, source={self.source!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (RegistryConfig, (dict(self.backends), dict(self.stores), self.source))

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        resolve_env_vars: bool = True,
        environ: Mapping[str, str] | None = None,
        source: str | None = None,
    ) -> RegistryConfig:
        """Build a config from plain data::

            {"backends": {"main": {"type": "local", "options": {"root": "/data"}}},
             "stores": {"reports": {"backend": "main", "root_path": "reports",
                                    "middleware": ["observe", {"name": "cache", "options": {}}]}}}

        A store's ``root`` is accepted as an alias of ``root_path``.

        Placeholders are resolved per backend and per store: an unset variable (without a
        default) in one backend's table is recorded in its `BackendConfig.env_error`, and only
        the stores using that backend fail, when they are opened, with a `ConfigKeyError`
        naming the store, the variable and the key path. Other stores open normally.

        Empty credentials mean "not set": a credential-named option (see `is_secret_key`:
        ``password``, ``secret_access_key``, ``*_token`` …) whose value is ``""`` after
        resolution — typically ``${VAR:-}`` with ``VAR`` unset — is left out of the options,
        so the backend falls back to its own default (for S3, the SDK's credential chain)
        instead of receiving an empty `Secret`.

        Args:
            data: The mapping (e.g. a parsed TOML/YAML document).
            resolve_env_vars: Replace ``${VAR}`` / ``${VAR:-default}`` placeholders
                (per backend and per store, see above).
            environ: Variables for placeholders (default ``os.environ``).
            source: File name for error messages.

        Raises:
            ConfigError: Unknown keys, wrong types, a store naming an unknown backend; the
                message names the key path and the file. (An unset variable is not raised
                here: see above.)
        """
        if not isinstance(data, Mapping):
            raise ConfigError(f"config must be a table/mapping, got {type(data).__name__}{_where(source)}")
        unknown = set(data) - {"backends", "stores"}
        if unknown:
            raise ConfigError(
                f"unknown top-level key(s) {sorted(unknown)}{_where(source)}; expected 'backends' and 'stores'"
            )
        backends: dict[str, BackendConfig] = {}
        raw_backends = data.get("backends", {})
        if not isinstance(raw_backends, Mapping):
            raise ConfigError(f"'backends' must be a table{_where(source)}", path="backends")
        for name, raw in raw_backends.items():
            key = f"backends.{name}"
            if not isinstance(raw, Mapping):
                raise ConfigError(f"{key} must be a table{_where(source)}", path=key)
            env_error: str | None = None
            if resolve_env_vars:
                raw, env_error = _resolve_section(raw, key, environ, source)
            extra = set(raw) - {"type", "options"}
            if extra:
                raise ConfigError(
                    f"{key}: unknown key(s) {sorted(extra)}; expected 'type' and 'options'{_where(source)}", path=key
                )
            btype = raw.get("type")
            if not isinstance(btype, str) or not btype:
                raise ConfigError(f"{key}.type must be a non-empty string{_where(source)}", path=f"{key}.type")
            options = raw.get("options", {})
            if not isinstance(options, Mapping):
                raise ConfigError(f"{key}.options must be a table{_where(source)}", path=f"{key}.options")
            backends[str(name)] = BackendConfig(btype, _drop_empty_credentials(options), env_error)
        stores: dict[str, StoreProfile] = {}
        raw_stores = data.get("stores", {})
        if not isinstance(raw_stores, Mapping):
            raise ConfigError(f"'stores' must be a table{_where(source)}", path="stores")
        for name, raw in raw_stores.items():
            key = f"stores.{name}"
            if not isinstance(raw, Mapping):
                raise ConfigError(f"{key} must be a table{_where(source)}", path=key)
            store_error: str | None = None
            if resolve_env_vars:
                resolved, store_error = _resolve_section(raw, key, environ, source)
                if store_error is not None:
                    stores[str(name)] = StoreProfile(str(raw.get("backend", "")), "", (), store_error)
                    continue
                raw = resolved
            extra = set(raw) - {"backend", "root_path", "root", "middleware", "strict_keys"}
            if extra:
                raise ConfigError(f"{key}: unknown key(s) {sorted(extra)}{_where(source)}", path=key)
            backend = raw.get("backend")
            if not isinstance(backend, str):
                raise ConfigError(f"{key}.backend must be a string{_where(source)}", path=f"{key}.backend")
            root = raw.get("root_path", raw.get("root", ""))
            if not isinstance(root, str):
                raise ConfigError(f"{key}.root_path must be a string{_where(source)}", path=f"{key}.root_path")
            try:
                root = _path.normalize_path(root)
            except InvalidPath as exc:
                raise ConfigError(
                    f"{key}.root_path is invalid: {exc.message}{_where(source)}", path=f"{key}.root_path"
                ) from None
            strict = raw.get("strict_keys", False)
            if not isinstance(strict, bool):
                raise ConfigError(f"{key}.strict_keys must be true or false{_where(source)}", path=f"{key}.strict_keys")
            stores[str(name)] = StoreProfile(
                backend, root, _parse_middleware(raw.get("middleware", []), key, source), strict_keys=strict
            )
        return cls(backends, stores, source)

    @classmethod
    def from_toml(
        cls,
        path: str | os.PathLike[str],
        *,
        table: str | None = None,
        resolve_env_vars: bool = True,
        environ: Mapping[str, str] | None = None,
    ) -> RegistryConfig:
        """Load a config from a TOML file (``tomllib``).

        Args:
            path: The file.
            table: Dotted table holding the config (``"tool.remote-store"`` in ``pyproject.toml``);
                None = the whole document.
            resolve_env_vars: Replace ``${VAR}`` placeholders.
            environ: Variables for placeholders.

        Raises:
            ConfigError: The file is missing or not valid TOML, the table is missing, or as `from_dict`.
        """
        import tomllib  # lazily: keeps `import remote_store` cheap

        source = os.fspath(path)
        try:
            with open(source, "rb") as f:
                doc: Any = tomllib.load(f)
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {source}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"invalid TOML in {source}: {exc}") from None
        if table:
            for part in table.split("."):
                if not isinstance(doc, Mapping) or part not in doc:
                    raise ConfigError(f"table [{table}] not found in {source}")
                doc = doc[part]
        return cls.from_dict(doc, resolve_env_vars=resolve_env_vars, environ=environ, source=source)

    def to_dict(self, *, mask: bool = True) -> dict[str, Any]:
        """Plain-data form.

        Args:
            mask: True (default): every `Secret`, credential-named option, URL/DSN password
                (``user:****@``), credential query parameter (``?sig=****``) and credential
                header value is replaced by ``'**********'`` (see `mask_secrets`). False: the
                real values, to write a config back out.
        """

        def opts(o: Mapping[str, Any]) -> dict[str, Any]:
            if mask:
                return mask_secrets(o)
            return {k: _revealed(v) for k, v in o.items()}

        return {
            "backends": {n: {"type": b.type, "options": opts(b.options)} for n, b in self.backends.items()},
            "stores": {
                n: {
                    "backend": s.backend,
                    "root_path": s.root_path,
                    "middleware": [{"name": m.name, "options": opts(m.options)} for m in s.middleware],
                    **({"strict_keys": True} if s.strict_keys else {}),
                }
                for n, s in self.stores.items()
            },
        }


def _resolve_section(
    raw: Mapping[str, Any], key: str, environ: Mapping[str, str] | None, source: str | None
) -> tuple[Mapping[str, Any], str | None]:
    """Resolve ``${VAR}`` in one backend/store table: ``(resolved, None)`` or ``(raw, error text)``."""
    try:
        return resolve_env(raw, environ=environ, source=source, _path=key), None
    except ConfigKeyError as exc:
        return raw, exc.message


def _drop_empty_credentials(options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` without credential-named keys whose value is ``""`` (nested tables too)."""
    out: dict[str, Any] = {}
    for k, v in options.items():
        if isinstance(v, Mapping):
            out[k] = _drop_empty_credentials(v)
        elif not (v == "" and isinstance(k, str) and is_secret_key(k)):
            out[k] = v
    return out


def _revealed(value: Any) -> Any:
    if isinstance(value, Secret):
        return value.reveal()
    if isinstance(value, Mapping):
        return {k: _revealed(v) for k, v in value.items()}
    return value


def _parse_middleware(raw: Any, key: str, source: str | None) -> tuple[MiddlewareConfig, ...]:
    if not isinstance(raw, (list, tuple)):
        raise ConfigError(f"{key}.middleware must be a list{_where(source)}", path=f"{key}.middleware")
    out: list[MiddlewareConfig] = []
    for i, item in enumerate(raw):
        where = f"{key}.middleware[{i}]"
        if isinstance(item, str):
            out.append(MiddlewareConfig(item))
        elif isinstance(item, Mapping) and isinstance(item.get("name"), str) and set(item) <= {"name", "options"}:
            opts = item.get("options", {})
            if not isinstance(opts, Mapping):
                raise ConfigError(f"{where}.options must be a table{_where(source)}", path=f"{where}.options")
            out.append(MiddlewareConfig(item["name"], dict(opts)))
        else:
            raise ConfigError(f"{where} must be a name or {{name=…, options={{…}}}}{_where(source)}", path=where)
    return tuple(out)
