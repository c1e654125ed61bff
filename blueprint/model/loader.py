"""Read an organization file: YAML, then the models, then the cross-field rules.

Every problem is collected before failing, and each names the file, the line, the YAML path,
what is wrong and what is allowed.
"""

from __future__ import annotations

import difflib
import re
import sys
import types
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from blueprint.model.config import OrgConfig
from blueprint.model.errors import ConfigError, ConfigProblem
from blueprint.model.fields import PATTERN_MEANINGS
from blueprint.model.rules import cross_field_problems
from blueprint.model.sections.values import SLUG

Location = tuple[str | int, ...]
# A 100-LOB organization holds about 8,000 values; a file that expands to far more through
# YAML aliases (an alias bomb) is refused before it is read.
MAX_VALUES = 200_000


# An organization file is a few levels deep; far deeper nesting is refused before it is read
# (PyYAML composes nested collections recursively).
MAX_DEPTH = 64
# libyaml's reader, five times faster, where PyYAML was built with it; a file it finds a
# problem in is read again by the pure-Python one, whose messages the problems quote. libyaml
# is more lenient than the pure reader with tabs, byte-order marks inside the text (read as
# indentation), a block scalar's header followed by '#', '?' in a plain value inside [] or {}
# and an empty tag ('!'): a file holding any of them (any tag, anything but ASCII) is read by
# the pure reader only, so both readers always agree.
FAST_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
BLOCK_HEADER_COMMENT = re.compile(r"[|>][-+0-9]*#")
# PyYAML's wording of the mistakes people make most, in plain words.
YAML_PROBLEMS = {
    "mapping values are not allowed here": (
        "a 'key: value' where none may start; check this line's indentation (the keys of one "
        "mapping line up) and quote values that contain ': '"
    ),
    "could not find expected ':'": (
        "a key without ':'; check the indentation and that quotes are closed"
    ),
    "found character '\\t' that cannot start any token": ("a tab; YAML indents with spaces only"),
}


def _plain(problem: str) -> str:
    if problem in YAML_PROBLEMS:
        return YAML_PROBLEMS[problem]
    if problem.startswith("expected <block end>"):
        return f"this line's indentation matches no key above ({problem})"
    return problem


def _plain_for_libyaml(text: str) -> bool:
    """Whether libyaml reads ``text`` as the pure reader does (see ``FAST_LOADER``)."""
    if not text.isascii() or "\t" in text or BLOCK_HEADER_COMMENT.search(text):
        return False
    in_flow: list[bool] = []
    try:
        for event in yaml.parse(text, Loader=FAST_LOADER):
            if isinstance(event, yaml.NodeEvent) and getattr(event, "tag", None) is not None:
                return False
            if isinstance(event, yaml.CollectionStartEvent):
                in_flow.append(bool(event.flow_style))
            elif isinstance(event, yaml.CollectionEndEvent):
                in_flow.pop()
            elif (
                isinstance(event, yaml.ScalarEvent)
                and any(in_flow)
                and not event.style
                and "?" in event.value
            ):
                return False
    except yaml.YAMLError:
        return True  # libyaml finds a problem: the pure reader then words it
    return True


def _too_deep(text: str, loader: Any) -> ConfigProblem | None:
    """A problem when collections nest deeper than ``MAX_DEPTH`` (read event by event, which
    does not recurse)."""
    depth = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                line = event.start_mark.line + 1 if event.start_mark else None
                return ConfigProblem(
                    "",
                    f"lists and mappings nest more than {MAX_DEPTH} levels deep; allowed: an "
                    "organization file (a few levels)",
                    line,
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return None


def format_path(location: Location) -> str:
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def load_config(path: str | Path) -> OrgConfig:
    """Parse and validate ``path``; raise ConfigError listing every problem."""
    file = str(path)
    text = _read(file)
    try:
        if FAST_LOADER is not yaml.SafeLoader and _plain_for_libyaml(text):
            try:
                return _load_config(file, text, FAST_LOADER)
            except ConfigError:
                pass  # every problem is told as the pure-Python reader words and places it
        return _load_config(file, text, yaml.SafeLoader)
    except RecursionError:
        # Aliases can nest what the event check sees as shallow (each alias is one event).
        raise ConfigError(
            file,
            [
                ConfigProblem(
                    "",
                    f"lists and mappings nest more than {MAX_DEPTH} levels deep once its aliases "
                    "are expanded; allowed: an organization file (a few levels)",
                    1,
                )
            ],
        ) from None


def _read(file: str) -> str:
    try:
        return Path(file).read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(
            file, [ConfigProblem("", f"cannot read the file: {error.strerror}")]
        ) from None
    except UnicodeDecodeError as error:
        raise ConfigError(
            file,
            [ConfigProblem("", f"not UTF-8 text (byte {error.start}); allowed: a UTF-8 file")],
        ) from None


def _load_config(file: str, text: str, loader: Any) -> OrgConfig:
    try:
        deep = _too_deep(text, loader)
        if deep is not None:
            raise ConfigError(file, [deep])
        root = yaml.compose(text, Loader=loader)
    except (ValueError, OverflowError) as error:
        raise ConfigError(
            file,
            [ConfigProblem("", f"invalid YAML: an escape names no character ({error})")],
        ) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(
            file, [ConfigProblem("", f"invalid YAML: {_plain(problem)}", line)]
        ) from None
    expanded = _expanded_size(root, {})
    if expanded > MAX_VALUES:
        raise ConfigError(
            file,
            [
                ConfigProblem(
                    "",
                    f"the file expands to {expanded:,} values through YAML aliases; allowed: "
                    f"at most {MAX_VALUES:,} (use each anchor '&' and alias '*' sparingly)",
                    1,
                )
            ],
        )
    lines: dict[str, int] = {}
    problems = _index_lines(root, (), lines)
    try:
        data = yaml.load(text, Loader=loader)
    except (ValueError, LookupError, AttributeError, TypeError) as error:
        # A value YAML's own types cannot hold ("2001-13-45", "0x_", "!!bool x").
        raise ConfigError(
            file,
            [
                ConfigProblem(
                    "",
                    f"invalid YAML: a value written as a date, a number or a tagged value is "
                    f"none ({type(error).__name__}: {error}); allowed: a valid one, or the "
                    "value in quotes to keep it as text",
                )
            ],
        ) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(
            file,
            [
                ConfigProblem(
                    "",
                    f"invalid YAML: {problem}; allowed: plain YAML values, without tags",
                    mark.line + 1 if mark else None,
                )
            ],
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(
            file,
            [ConfigProblem("", "the file must be a mapping with organization, platform, lobs", 1)],
        )

    try:
        config: OrgConfig | None = OrgConfig.model_validate(data)
    except ValidationError as error:
        config = None
        problems += [_translate(detail) for detail in _without_misspelled(error)]
    problems += cross_field_problems(data)
    if problems:
        named = _lob_names(data)
        raise ConfigError(file, [_by_name(_with_line(p, lines), named) for p in problems])
    assert config is not None
    return config


def _expanded_size(node: yaml.Node | None, sizes: dict[int, int]) -> int:
    """How many values ``node`` stands for once its aliases are expanded, computed once per
    distinct node (an alias shares the node it names), so measuring an alias bomb is cheap."""
    if node is None:
        return 0
    known = sizes.get(id(node))
    if known is not None:
        return known
    sizes[id(node)] = 1  # a node that contains itself counts once
    size = 1
    if isinstance(node, yaml.MappingNode):
        size += sum(_expanded_size(k, sizes) + _expanded_size(v, sizes) for k, v in node.value)
    elif isinstance(node, yaml.SequenceNode):
        size += sum(_expanded_size(item, sizes) for item in node.value)
    sizes[id(node)] = size
    return size


def _index_lines(
    node: yaml.Node | None, location: Location, lines: dict[str, int]
) -> list[ConfigProblem]:
    """Record the line of every YAML path; report keys given twice in one mapping."""
    problems: list[ConfigProblem] = []
    if node is None:
        return problems
    lines[format_path(location)] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                problems.append(
                    ConfigProblem(
                        format_path((*location, key)),
                        "key given twice in the same mapping; allowed: each key once",
                        key_node.start_mark.line + 1,
                    )
                )
            seen.add(key)
            problems += _index_lines(value_node, (*location, key), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            problems += _index_lines(item, (*location, index), lines)
    return problems


def _lob_names(data: dict[str, Any]) -> dict[str, str]:
    """``lobs[N]`` -> ``lobs[NAME]`` for every LOB whose name is a valid, unique slug."""
    lobs = data.get("lobs")
    entries = lobs if isinstance(lobs, list) else []
    found = [entry.get("name") if isinstance(entry, dict) else None for entry in entries]
    return {
        f"lobs[{index}]": f"lobs[{name}]"
        for index, name in enumerate(found)
        if isinstance(name, str) and SLUG.match(name) and found.count(name) == 1
    }


def _by_name(problem: ConfigProblem, named: dict[str, str]) -> ConfigProblem:
    """The problem with LOBs named rather than numbered (its line says where it is)."""
    path, message = problem.path, problem.message
    for numbered, name in named.items():
        path = name + path.removeprefix(numbered) if path.startswith(numbered) else path
        message = message.replace(numbered, name)
    return ConfigProblem(path, message, problem.line)


def _with_line(problem: ConfigProblem, lines: dict[str, int]) -> ConfigProblem:
    """Attach the line of the path, or of its nearest parent present in the file."""
    if problem.line is not None:
        return problem
    path = problem.path
    while path and path not in lines:
        path = path[: max(path.rfind("."), path.rfind("["), 0)]
    return ConfigProblem(problem.path, problem.message, lines.get(path))


def _location(detail: ErrorDetails) -> Location:
    return tuple(part for part in detail["loc"] if not (isinstance(part, str) and "[" in part))


def _misspelled(detail: ErrorDetails) -> str | None:
    """The accepted key an unknown key is a misspelling of, if it is close to one."""
    location = _location(detail)
    fields = _fields_at(location[:-1])
    close = difflib.get_close_matches(str(location[-1]), fields, n=1, cutoff=0.6)
    return close[0] if close else None


def _without_misspelled(error: ValidationError) -> list[ErrorDetails]:
    """The errors, less "required key is missing" for a key the file holds misspelled (the
    unknown key's message already says which one was meant)."""
    details = error.errors(include_url=False)
    meant = {
        (*_location(d)[:-1], key)
        for d in details
        if d["type"] == "extra_forbidden" and (key := _misspelled(d)) is not None
    }
    return [d for d in details if not (d["type"] == "missing" and _location(d) in meant)]


def _translate(detail: ErrorDetails) -> ConfigProblem:
    location = _location(detail)
    path = format_path(location)
    kind = detail["type"]
    given = detail.get("input")
    if kind == "missing":
        return ConfigProblem(path, "required key is missing")
    if kind == "extra_forbidden":
        fields = _fields_at(location[:-1])
        meant = _misspelled(detail)
        hint = f" (did you mean '{meant}'?)" if meant else ""
        allowed = ", ".join(fields) or "none"
        return ConfigProblem(path, f"unknown key '{location[-1]}'{hint}; allowed: {allowed}")
    if kind == "string_pattern_mismatch":
        pattern = str(detail.get("ctx", {}).get("pattern", ""))
        meaning = PATTERN_MEANINGS.get(pattern, f"text matching {pattern}")
        return ConfigProblem(path, f"{given!r} is not {meaning}; allowed: {meaning}")
    if kind == "value_error":
        return ConfigProblem(path, detail["msg"].removeprefix("Value error, "))
    if kind == "string_type":
        return ConfigProblem(path, f"{given!r} must be quoted text; allowed: a quoted value")
    if kind == "enum":
        expected = detail.get("ctx", {}).get("expected", "")
        return ConfigProblem(path, f"'{given}' is not allowed; allowed: {expected}")
    return ConfigProblem(path, f"{detail['msg'].lower()} (got {given!r})")


def _fields_at(location: Location) -> list[str]:
    """The keys the model at ``location`` accepts, to say what is allowed."""
    annotation: Any = OrgConfig
    for part in location:
        annotation = _model_in(annotation)
        if annotation is None:
            return []
        if isinstance(part, int):
            continue
        field = annotation.model_fields.get(part)
        if field is None:
            return []
        annotation = field.annotation
    model = _model_in(annotation)
    return list(model.model_fields) if model else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model class inside an annotation such as ``list[LobConfig]`` or ``X | None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _model_in(typing.get_args(annotation)[0])
    if origin in (list, typing.Union, types.UnionType):
        for argument in typing.get_args(annotation):
            model = _model_in(argument)
            if model:
                return model
    return None


def load_config_or_exit(path: str | Path) -> OrgConfig:
    """``load_config`` for command lines: print each problem on stderr and exit with code 2."""
    try:
        return load_config(path)
    except ConfigError as error:
        for line in error.lines():
            print(line, file=sys.stderr)
        print(
            f"{len(error.problems)} problem(s) in {error.file}; nothing was synthesized.",
            file=sys.stderr,
        )
        raise SystemExit(2) from None
