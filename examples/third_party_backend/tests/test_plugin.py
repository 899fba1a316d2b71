"""The entry point registers the backend type and URL scheme."""

from remote_store import open_store, plugins
from remote_store_jsondir import JsonDirBackend


def test_open_store_by_url(tmp_path):
    store = open_store(f"jsondir://{tmp_path}/docs")
    assert isinstance(store.backend, JsonDirBackend)
    store.write_text("hello.txt", "hi")
    assert store.read_text("hello.txt") == "hi"
    assert (tmp_path / "docs" / "hello.txt.json").is_file()


def test_plugin_is_listed():
    (info,) = [p for p in plugins() if p.distribution == "remote-store-jsondir"]
    assert info.loaded, info.error
    assert info.backends == ("jsondir",)


def test_bad_root_is_a_config_error():
    import pytest

    from remote_store.errors import ConfigError

    with pytest.raises(ConfigError, match="root"):
        JsonDirBackend(root="")
    with pytest.raises(ConfigError, match="root"):
        JsonDirBackend(root=3)
