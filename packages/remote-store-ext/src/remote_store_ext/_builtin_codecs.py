"""The built-in codecs: bytes, text, JSON, JSON Lines, YAML, NumPy, pickle (frames in `_frame_codecs`)."""

from __future__ import annotations

import io
import json
import pickle
import sys
from collections.abc import Mapping
from typing import Any

from remote_store_ext._codecerrors import CodecError, NoCodec
from remote_store_ext._codecs import Codec, require

_JSON_TYPES = (dict, list, str, int, float, bool, type(None))


def _ndarray(value: Any) -> bool:
    np = sys.modules.get("numpy")  # no numpy imported → the value cannot be an ndarray
    return np is not None and isinstance(value, np.ndarray)


class BytesCodec(Codec):
    """``bytes`` / ``bytearray`` / ``memoryview`` ↔ ``.bin`` (read back as ``bytes``)."""

    name = "bytes"
    extensions = (".bin",)
    priority = 10

    def can_encode(self, value: Any) -> bool:
        """Bytes-like values."""
        return isinstance(value, (bytes, bytearray, memoryview))

    def encode(self, value: Any) -> bytes:
        """The bytes themselves."""
        if not self.can_encode(value):
            raise NoCodec(f"the bytes codec stores bytes, not {type(value).__qualname__}")
        return bytes(value)

    def decode(self, data: bytes, options: Mapping[str, Any]) -> Any:
        """The bytes themselves."""
        return data


class TextCodec(Codec):
    """``str`` ↔ ``.txt`` / ``.md`` / ``.html`` (UTF-8)."""

    name = "text"
    extensions = (".txt", ".md", ".html")
    priority = 10

    def can_encode(self, value: Any) -> bool:
        """Strings."""
        return isinstance(value, str)

    def encode(self, value: Any) -> bytes:
        """UTF-8 bytes of the string."""
        if not isinstance(value, str):
            raise NoCodec(f"the text codec stores str, not {type(value).__qualname__}")
        return value.encode("utf-8")

    def decode(self, data: bytes, options: Mapping[str, Any]) -> Any:
        """Decode UTF-8 (option ``encoding`` overrides).

        Raises:
            CodecError: The bytes are not valid in the encoding.
        """
        try:
            return data.decode(options.get("encoding", "utf-8"))
        except UnicodeDecodeError as exc:
            raise CodecError(f"text file is not valid {exc.encoding}: {exc.reason}") from exc


class JsonCodec(Codec):
    """``dict`` / ``list`` / numbers / ``bool`` / ``None`` ↔ ``.json`` (UTF-8, ``json`` module)."""

    name = "json"
    extensions = (".json",)
    priority = 50

    def can_encode(self, value: Any) -> bool:
        """JSON's top-level types (a str goes to the text codec when stored under a bare key)."""
        return isinstance(value, _JSON_TYPES)

    def encode(self, value: Any) -> bytes:
        """``json.dumps`` as UTF-8.

        Raises:
            NoCodec: The value holds something JSON cannot represent (a ``datetime``, a set).
        """
        try:
            return json.dumps(value, ensure_ascii=False).encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise NoCodec(f"value is not JSON-serializable: {exc}") from exc

    def decode(self, data: bytes, options: Mapping[str, Any]) -> Any:
        """``json.loads``.

        Raises:
            CodecError: Not valid JSON.
        """
        try:
            return json.loads(data)
        except ValueError as exc:
            raise CodecError(f"invalid JSON: {exc}") from exc


class JsonLinesCodec(Codec):
    """A non-empty ``list`` of ``dict`` ↔ ``.jsonl`` (one JSON document per line)."""

    name = "jsonl"
    extensions = (".jsonl",)
    priority = 40

    def can_encode(self, value: Any) -> bool:
        """A non-empty list whose items are all dicts (under an explicit ``.jsonl`` key any list)."""
        return isinstance(value, list) and bool(value) and all(isinstance(item, dict) for item in value)

    def encode(self, value: Any) -> bytes:
        """One ``json.dumps`` per item, each ending with a newline.

        Raises:
            NoCodec: ``value`` is not a list, or an item is not JSON-serializable.
        """
        if not isinstance(value, list):
            raise NoCodec(f"JSON Lines stores a list, not {type(value).__qualname__}")
        try:
            return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in value).encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise NoCodec(f"item is not JSON-serializable: {exc}") from exc

    def decode(self, data: bytes, options: Mapping[str, Any]) -> Any:
        """A list with one item per non-blank line.

        Raises:
            CodecError: A line is not valid JSON (the message gives its number).
        """
        out: list[Any] = []
        for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except ValueError as exc:
                    raise CodecError(f"invalid JSON on line {number}: {exc}") from exc
        return out


class YamlCodec(Codec):
    """JSON-like values ↔ ``.yaml`` / ``.yml`` through PyYAML's safe dumper and loader (extra ``yaml``).

    Never chosen for a bare key (JSON is); write ``ds["config.yaml"] = {...}``.
    """

    name = "yaml"
    extensions = (".yaml", ".yml")
    priority = 200

    def can_encode(self, value: Any) -> bool:
        """The same values as the JSON codec."""
        return isinstance(value, _JSON_TYPES)

    def encode(self, value: Any) -> bytes:
        """``yaml.safe_dump`` (key order kept) as UTF-8.

        Raises:
            NoCodec: The safe dumper cannot represent the value.
            CodecError: PyYAML is not installed.
        """
        yaml = require("yaml", "yaml", self.name)
        try:
            text: str = yaml.safe_dump(value, sort_keys=False, allow_unicode=True)
        except yaml.YAMLError as exc:
            raise NoCodec(f"value cannot be written as YAML: {exc}") from exc
        return text.encode("utf-8")

    def decode(self, data: bytes, options: Mapping[str, Any]) -> Any:
        """``yaml.safe_load`` (no arbitrary objects).

        Raises:
            CodecError: Invalid YAML, or PyYAML is not installed.
        """
        yaml = require("yaml", "yaml", self.name)
        try:
            return yaml.safe_load(data)
        except yaml.YAMLError as exc:
            raise CodecError(f"invalid YAML: {exc}") from exc


class NpyCodec(Codec):
    """``numpy.ndarray`` ↔ ``.npy`` (``numpy.save`` / ``numpy.load``, never pickled; extra ``numpy``)."""

    name = "npy"
    extensions = (".npy",)
    priority = 20

    def can_encode(self, value: Any) -> bool:
        """NumPy arrays."""
        return _ndarray(value)

    def encode(self, value: Any) -> bytes:
        """``numpy.save(..., allow_pickle=False)``.

        Raises:
            NoCodec: Not an array, or an object array (which would need pickle).
        """
        np = require("numpy", "numpy", self.name)
        if not isinstance(value, np.ndarray):
            raise NoCodec(f"the npy codec stores a numpy.ndarray, not {type(value).__qualname__}")
        buf = io.BytesIO()
        try:
            np.save(buf, value, allow_pickle=False)
        except ValueError as exc:
            raise NoCodec(f"array cannot be stored without pickle: {exc}") from exc
        return buf.getvalue()

    def decode(self, data: bytes, options: Mapping[str, Any]) -> Any:
        """``numpy.load(..., allow_pickle=False)``.

        Raises:
            CodecError: Not a valid ``.npy`` file (or it needs pickle).
        """
        np = require("numpy", "numpy", self.name)
        try:
            return np.load(io.BytesIO(data), allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise CodecError(f"invalid .npy file: {exc}") from exc


class NpzCodec(Codec):
    """A non-empty ``dict[str, numpy.ndarray]`` ↔ ``.npz`` (``numpy.savez``; read back as a ``dict``)."""

    name = "npz"
    extensions = (".npz",)
    priority = 25

    def can_encode(self, value: Any) -> bool:
        """A non-empty dict of str keys to NumPy arrays."""
        return (
            isinstance(value, dict)
            and bool(value)
            and all(isinstance(k, str) and _ndarray(v) for k, v in value.items())
        )

    def encode(self, value: Any) -> bytes:
        """``numpy.savez`` of the dict's arrays, without pickle.

        Raises:
            NoCodec: Not such a dict, or an object array.
        """
        np = require("numpy", "numpy", self.name)
        if not self.can_encode(value):
            raise NoCodec("the npz codec stores a non-empty dict of str to numpy.ndarray")
        for key, array in value.items():
            if array.dtype.hasobject:
                raise NoCodec(f"array {key!r} has dtype object, which .npz can store only with pickle")
        buf = io.BytesIO()
        np.savez(buf, **value)
        return buf.getvalue()

    def decode(self, data: bytes, options: Mapping[str, Any]) -> Any:
        """A ``dict`` of the archive's arrays (loaded eagerly, without pickle).

        Raises:
            CodecError: Not a valid ``.npz`` file.
        """
        np = require("numpy", "numpy", self.name)
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as archive:
                return {name: archive[name] for name in archive.files}
        except (ValueError, OSError, EOFError) as exc:
            raise CodecError(f"invalid .npz file: {exc}") from exc


class PickleCodec(Codec):
    """Any picklable object ↔ ``.pkl`` / ``.pickle``. Unsafe: used only with ``allow_pickle=True``,
    because loading a pickle runs code chosen by whoever wrote the file."""

    name = "pickle"
    extensions = (".pkl", ".pickle")
    priority = 1000
    unsafe = True

    def can_encode(self, value: Any) -> bool:
        """Anything (whether it pickles is found out by `encode`)."""
        return True

    def encode(self, value: Any) -> bytes:
        """``pickle.dumps`` at the highest protocol.

        Raises:
            NoCodec: The object cannot be pickled (a lock, an open file).
        """
        try:
            return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            raise NoCodec(f"value cannot be pickled: {exc}") from exc

    def decode(self, data: bytes, options: Mapping[str, Any]) -> Any:
        """``pickle.loads`` (runs code from the file: trusted data only).

        Raises:
            CodecError: Not a valid pickle.
        """
        try:
            return pickle.loads(data)
        except Exception as exc:
            raise CodecError(f"invalid pickle: {exc}") from exc


def builtin_codecs() -> list[Codec]:
    """One instance of every built-in codec."""
    from remote_store_ext._frame_codecs import CsvCodec, ParquetCodec

    return [
        BytesCodec(),
        TextCodec(),
        JsonCodec(),
        JsonLinesCodec(),
        YamlCodec(),
        NpyCodec(),
        NpzCodec(),
        ParquetCodec(),
        CsvCodec(),
        PickleCodec(),
    ]
