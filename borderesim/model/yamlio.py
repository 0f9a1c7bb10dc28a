"""Bounded reading of YAML that a user (or an uploader) controls.

Every YAML input goes through here: scenario files, ``extends:`` targets, sweep and
strategies files, ``--set`` values and workshop uploads. The rules:

- only regular files are read (no folders, devices, FIFOs or sockets), at most
  ``MAX_BYTES``; a FIFO swapped in between the check and the open cannot block,
  because the file is opened non-blocking and checked again;
- the YAML may nest at most ``MAX_DEPTH`` levels, and expanding its aliases
  (``*name`` repeating an ``&name`` anchor) may give at most ``MAX_NODES`` values and
  ``MAX_CHARS`` characters of text, so a "billion laughs" file is refused before any
  object is built;
- a mapping may not repeat a key (YAML's "last one wins" hides mistakes);
- ``1e9``, ``-1E-3`` and ``4.2e2`` (no dot or no exponent sign, which YAML 1.1 reads
  as text) are numbers;
- tags never build Python objects (``SafeLoader``).

Messages never quote more than a short piece of the input.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml

from ..errors import InputFileError, shorten

MAX_BYTES = 5 * 1024 * 1024
"""Largest YAML file read, in bytes (5 MB)."""
MAX_DEPTH = 50
"""Deepest nesting of lists and mappings."""
MAX_NODES = 100_000
"""Most values (scalars, lists, mappings) after expanding aliases."""
MAX_CHARS = 10 * 1024 * 1024
"""Most characters of scalar text after expanding aliases."""

_Base: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class BoundedLoader(_Base):  # type: ignore[misc, valid-type]
    """``SafeLoader`` (the C one when available) that refuses duplicate keys and reads
    exponents without a dot as floats. Use ``parse_yaml``, which also bounds the size."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Mark] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:
                continue  # an unhashable key: SafeConstructor reports it
            if first is not None:
                raise yaml.constructor.ConstructorError(
                    None, None,
                    f"duplicate key {_as_written(key_node, key)} (first given at line "
                    f"{first.line + 1})", key_node.start_mark)
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


def _as_written(node: yaml.Node, key: Any) -> str:
    """A key as the file spells it, and what YAML read it as when that differs (``on``,
    ``yes`` and ``no`` are booleans in YAML 1.1: ``'yes' (read as True)``)."""
    if not isinstance(node, yaml.ScalarNode) or node.value == key:
        return shorten(key)
    return f"{shorten(node.value)} (read as {shorten(key)})"


BoundedLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+.0123456789"),
)


def _where(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""


def _refuse(problem: str, summary: str, source: str | None, mark: Any) -> InputFileError:
    where = _where(mark)
    at = f"{where}: " if where else ""
    return InputFileError(f"{at}{problem}", source, f"{summary} ({where})" if where else summary)


def _check_shape(text: str, source: str | None) -> None:
    """Walk the parse events (no objects built) and refuse too deep or too large input."""
    stack: list[list[Any]] = []  # open collections: [nodes, chars, anchor]
    sizes: dict[str, tuple[int, int]] = {}
    nodes = chars = 0
    for event in yaml.parse(text, Loader=BoundedLoader):
        if isinstance(event, yaml.AliasEvent):
            if event.anchor not in sizes:
                opened = any(item[2] == event.anchor for item in stack)
                problem = ("an alias refers to the list or mapping that holds it"
                           if opened else "an alias (*name) names no anchor (&name) before it")
                raise _refuse(problem, "is not valid YAML", source, event.start_mark)
            n, c = sizes[event.anchor]
        elif isinstance(event, yaml.ScalarEvent):
            n, c = 1, len(event.value)
            if event.anchor is not None:
                sizes[event.anchor] = (n, c)
        elif isinstance(event, yaml.CollectionStartEvent):
            stack.append([1, 0, event.anchor])
            if len(stack) > MAX_DEPTH:
                raise _refuse(f"nested more than {MAX_DEPTH} levels deep",
                              "is nested too deeply", source, event.start_mark)
            nodes += 1
            if nodes > MAX_NODES:
                raise _refuse(f"more than {MAX_NODES:,} values", "is too large", source,
                              event.start_mark)
            continue
        elif isinstance(event, yaml.CollectionEndEvent):
            n, c, anchor = stack.pop()
            if anchor is not None:
                sizes[anchor] = (n, c)
            if stack:
                stack[-1][0] += n
                stack[-1][1] += c
            continue
        else:
            continue
        if stack:
            stack[-1][0] += n
            stack[-1][1] += c
        nodes += n
        chars += c
        if nodes > MAX_NODES or chars > MAX_CHARS:
            what = (f"more than {MAX_NODES:,} values" if nodes > MAX_NODES
                    else f"more than {MAX_CHARS:,} characters of text")
            via = " once its aliases (*name) are expanded" if isinstance(
                event, yaml.AliasEvent) else ""
            raise _refuse(f"{what}{via}", "is too large", source, event.start_mark)


def parse_yaml(text: str, source: str | None = None) -> Any:
    """Parse ``text`` with the bounds above; raises ``InputFileError`` naming ``source``.

    The problem carries the line and column; ``InputFileError.summary`` words it
    without quoting the text (for files the user did not send).
    """
    try:
        _check_shape(text, source)
        return yaml.load(text, Loader=BoundedLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        problem = shorten(exc.problem or exc.context or "cannot parse", 120, quote=False)
        mark = exc.problem_mark or exc.context_mark
        where = _where(mark)
        if "nesting depth" in problem:  # libyaml's own limit, met while scanning ahead
            raise InputFileError(f"{where}: nested more than {MAX_DEPTH} levels deep", source,
                                 f"is nested too deeply ({where})") from None
        raise InputFileError(f"invalid YAML: {where + ': ' if where else ''}{problem}", source,
                             f"is not valid YAML ({where})" if where else "is not valid YAML"
                             ) from None
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "cannot parse"
        raise InputFileError(f"invalid YAML: {shorten(first, quote=False)}", source,
                             "is not valid YAML") from None
    except RecursionError:  # pragma: no cover - the depth check runs first
        raise InputFileError(f"nested more than {MAX_DEPTH} levels deep", source,
                             "is nested too deeply") from None


def check_text(text: str, source: str | None) -> None:
    """Refuse text that is too long or holds NUL bytes (not a text file)."""
    if len(text) > MAX_BYTES:
        raise InputFileError(f"larger than the limit of {MAX_BYTES // 2**20} MB", source,
                             f"is larger than {MAX_BYTES // 2**20} MB")
    if "\x00" in text:
        raise InputFileError("not a text file (it holds NUL bytes)", source,
                             "is not a text file")


def decode_text(raw: bytes, source: str | None) -> str:
    """``raw`` (at most ``MAX_BYTES``) decoded as UTF-8 text without NUL bytes."""
    limit = f"{MAX_BYTES // 2**20} MB"
    if len(raw) > MAX_BYTES:
        raise InputFileError(f"the file is larger than the limit of {limit}", source,
                             f"is larger than {limit}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputFileError("not a text file (cannot read it as UTF-8)", source,
                             "is not a text file") from None
    check_text(text, source)
    return text


def read_text(path: Path, kind: str = "YAML file") -> str:
    """The UTF-8 text of the regular file ``path``, at most ``MAX_BYTES`` bytes.

    Raises ``InputFileError`` (never blocks, never reads past the limit) for a missing
    file, a folder, a device, FIFO or socket, an unreadable or too large file, or bytes
    that are not UTF-8 text.
    """
    src = str(path)
    limit = f"{MAX_BYTES // 2**20} MB"
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise InputFileError(f"is a folder, not a {kind}", src, "is a folder")
        if not stat.S_ISREG(info.st_mode):
            raise InputFileError(f"not a regular file (a device, pipe or socket); give a {kind}",
                                 src, "is not a regular file")
        if info.st_size > MAX_BYTES:
            raise InputFileError(f"the file is {info.st_size / 2**20:.1f} MB; the limit is "
                                 f"{limit}", src, f"is larger than {limit}")
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise InputFileError("not a regular file (a device, pipe or socket); "
                                     f"give a {kind}", src, "is not a regular file")
            raw = handle.read(MAX_BYTES + 1)
    except InputFileError:
        raise
    except FileNotFoundError:
        raise InputFileError("file not found", src, "was not found") from None
    except PermissionError:
        raise InputFileError("cannot read the file (permission denied)", src,
                             "cannot be read") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the name
        why = getattr(exc, "strerror", None) or "not a usable file name"
        raise InputFileError(f"cannot read the file ({why})", src, "cannot be read") from None
    return decode_text(raw, src)


def mapping_from_text(text: str, source: str | None, kind: str = "scenario file") -> dict:
    """Parse bounded YAML ``text`` that must hold a mapping of fields."""
    check_text(text, source)
    data = parse_yaml(text, source)
    if data is None:
        raise InputFileError("file is empty", source, "is empty")
    if not isinstance(data, dict):
        raise InputFileError(f"expected a mapping of fields, got {type(data).__name__}",
                             source, f"is not a {kind} (not a mapping of fields)")
    return data


def read_mapping(path: Path, kind: str = "scenario file") -> dict[str, Any]:
    """Read the regular file ``path`` (bounded) as YAML holding a mapping."""
    return mapping_from_text(read_text(path, kind), str(path), kind)

