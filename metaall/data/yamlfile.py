"""YAML files a reviewer writes (analysis specs, GRADE judgements), read safely.

``yaml.safe_load`` semantics only: no tags that build Python objects, no anchors or
aliases (an "alias bomb" of a few hundred bytes would otherwise expand to gigabytes),
regular UTF-8 files of at most 1 MiB, no control characters in any key or text. Every
key's line is kept, so each check can raise a :class:`DataError` naming the file, the
line and the key (``zero_cells.to`` for nested keys).
"""

from __future__ import annotations

import math
from pathlib import Path

import yaml

from metaall import methods
from metaall.data.csvfile import control_character, open_regular
from metaall.data.errors import DataError
from metaall.data.model import Vocabulary

MAX_YAML_BYTES = 2**20

_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when installed: faster


def _read_text(path: Path, kind: str) -> str:
    """The text of a regular UTF-8 file of at most :data:`MAX_YAML_BYTES`."""
    where = str(path)
    with open_regular(where) as handle:
        raw = handle.read(MAX_YAML_BYTES + 1)
    if len(raw) > MAX_YAML_BYTES:
        raise DataError(where, 0, "file", f"larger than {MAX_YAML_BYTES // 1024} KiB; not a {kind}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(where, 0, "file", f"cannot read: {exc}") from None


def _refuse_aliases(path: str, text: str, kind: str) -> None:
    """Refuse anchors and aliases (found in one linear pass over the parse events)."""
    for event in yaml.parse(text, Loader=_SafeLoader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise DataError(
                path,
                event.start_mark.line + 1,
                "yaml",
                f"anchors and aliases (& and *) are not allowed in a {kind}; write the values out",
            )


class YamlFile:
    """A YAML file (a mapping at the top) with the line of every key, and the checks
    that use them; ``kind`` names what the file holds, for messages (\"spec\")."""

    def __init__(self, path: Path, kind: str = "spec") -> None:
        self.path = str(path)
        self.kind = kind
        self.lines: dict[str, int] = {}
        text = _read_text(path, kind)
        loader = _SafeLoader(text)
        try:
            if "&" in text or "*" in text:
                _refuse_aliases(self.path, text, kind)
            node = loader.get_single_node()
            self.data = loader.construct_document(node) if node is not None else None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else 0
            problem = getattr(exc, "problem", None) or str(exc)
            raise DataError(self.path, line, "yaml", f"not valid YAML: {problem}") from None
        if not isinstance(node, yaml.MappingNode) or not isinstance(self.data, dict):
            raise DataError(self.path, 1, kind, "expected a mapping of keys (key: value)")
        self._index(node, "")
        self._printable(self.data, "")

    def _printable(self, value: object, key: str) -> None:
        """Refuse control characters in any key or text (they reach terminals and SVG)."""
        items = (
            value.items()
            if isinstance(value, dict)
            else enumerate(value)
            if isinstance(value, list)
            else ()
        )
        for name, item in items:
            inner = f"{key}.{name}" if key and isinstance(value, dict) else key or str(name)
            if isinstance(name, str) and (problem := control_character(name)):
                raise self.error(key or self.kind, problem)
            if isinstance(item, str) and (problem := control_character(item)):
                raise self.error(inner, problem)
            self._printable(item, inner)

    def _index(self, node: yaml.MappingNode, prefix: str) -> None:
        for key_node, value_node in node.value:
            key = f"{prefix}{key_node.value}"
            if key in self.lines:
                raise DataError(self.path, key_node.start_mark.line + 1, key, "duplicate key")
            self.lines[key] = key_node.start_mark.line + 1
            if isinstance(value_node, yaml.MappingNode):
                self._index(value_node, f"{key}.")

    def error(self, key: str, message: str) -> DataError:
        parent = key.rsplit(".", 1)[0]
        return DataError(self.path, self.lines.get(key, self.lines.get(parent, 0)), key, message)

    def named(self, key: str, value: object, kind: str) -> str:
        """The canonical name of a measure, method or test (see metaall.methods)."""
        try:
            return methods.lookup(kind, value).name
        except ValueError as exc:
            raise self.error(key, str(exc)) from None

    def choice(self, key: str, value: object, allowed: tuple[str, ...]) -> str:
        if value not in allowed:
            raise self.error(key, f"'{value}' is not one of: {', '.join(allowed)}")
        return str(value)

    def tag(self, key: str, value: object, vocabulary: Vocabulary, tag_field: str) -> str:
        if not isinstance(value, str) or not value:
            raise self.error(key, "expected a tag (text)")
        if not vocabulary.has(tag_field, value):
            allowed = ", ".join(vocabulary.allowed(tag_field)) or "none defined"
            raise self.error(key, f"unknown {tag_field} tag '{value}'; allowed: {allowed}")
        return value

    def text(self, key: str, value: object) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, "expected non-empty text")
        if problem := control_character(value.strip()):
            raise self.error(key, problem)
        return value.strip()

    def flag(self, key: str, value: object) -> bool:
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {value!r}")
        return value

    def number(self, key: str, value: object, low: float, high: float, closed: bool) -> float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok and math.isfinite(value) and (low <= value <= high if closed else low < value < high):
            return float(value)
        bounds = f"[{low:g}, {high:g}]" if closed else f"({low:g}, {high:g})"
        raise self.error(key, f"expected a number in {bounds}, got {value!r}")

    def pair(self, key: str, value: object) -> tuple[str, str]:
        if not isinstance(value, list) or len(value) != 2:
            raise self.error(key, "expected a list of two labels, e.g. [Favours A, Favours B]")
        first, second = (self.text(key, item) for item in value)
        return first, second
