"""The public surface of `remote_store` is exactly `__all__`."""

from __future__ import annotations

import importlib

import remote_store
import remote_store.backends
import remote_store.errors

EXPECTED = {
    "AlreadyExists",
    "AtomicWriteHandle",
    "AtomicWriter",
    "Backend",
    "BackendConfig",
    "BackendSpec",
    "BackendUnavailable",
    "Capability",
    "CapabilityNotSupported",
    "CapabilitySet",
    "ConfigError",
    "ConfigKeyError",
    "ConfigSource",
    "ContentChanged",
    "ContentDigest",
    "DirectoryNotEmpty",
    "FileInfo",
    "FolderEntry",
    "FolderInfo",
    "InvalidPath",
    "MiddlewareConfig",
    "MiddlewareSpec",
    "NotFound",
    "PermissionDenied",
    "PluginHost",
    "PluginInfo",
    "RangeReader",
    "Registry",
    "RegistryConfig",
    "RemoteStoreError",
    "ResolutionPlan",
    "Secret",
    "SeekableReader",
    "SpooledAtomicWriter",
    "Store",
    "StoreProfile",
    "UrlResolution",
    "WritableContent",
    "WriteResult",
    "WriteSource",
    "__version__",
    "get_plugin_host",
    "hookimpl",
    "open_range_reader",
    "open_store",
    "open_url",
    "plugins",
    "resolve_env",
    "use_plugin_host",
}


def test_all_is_exactly_the_public_surface() -> None:
    assert set(remote_store.__all__) == EXPECTED
    assert remote_store.__all__ == sorted(remote_store.__all__)


def test_every_exported_name_resolves_and_is_documented() -> None:
    for name in remote_store.__all__:
        obj = getattr(remote_store, name)
        if name in ("__version__", "WritableContent", "hookimpl"):
            continue
        assert obj.__doc__ and obj.__doc__.strip(), f"{name} has no docstring"


def test_no_public_module_level_name_outside_all() -> None:
    public = {n for n in vars(remote_store) if not n.startswith("_")}
    # submodules imported as side effects of importing the package are not API
    modules = {n for n in public if type(getattr(remote_store, n)).__name__ == "module"}
    leaked = public - set(remote_store.__all__) - modules - {"annotations", "logging", "TYPE_CHECKING", "Any"}
    assert leaked == set(), leaked


def test_errors_module_all() -> None:
    assert sorted(remote_store.errors.__all__) == remote_store.errors.__all__
    for name in remote_store.errors.__all__:
        cls = getattr(remote_store.errors, name)
        assert issubclass(cls, remote_store.errors.RemoteStoreError)
        assert getattr(remote_store, name) is cls


def test_backends_module_exports() -> None:
    assert remote_store.backends.__all__ == sorted(remote_store.backends.__all__)
    for name in remote_store.backends.__all__:
        assert issubclass(getattr(remote_store.backends, name), remote_store.Backend)


def test_unknown_attribute_raises_attribute_error() -> None:
    mod = importlib.import_module("remote_store")
    try:
        mod.does_not_exist  # noqa: B018
    except AttributeError as exc:
        assert "does_not_exist" in str(exc)
    else:
        raise AssertionError("expected AttributeError")
