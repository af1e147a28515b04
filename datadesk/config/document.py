"""The YAML side of ``datadesk.yaml``: parsed data, where each key sits, and duplicate keys.

PyYAML silently keeps the last of two equal keys in a mapping; an administrator who pastes a
table section twice would lose settings without a word, so duplicates are reported here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from datadesk.errors import ConfigError

PathPart = str | int
MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass(frozen=True)
class ConfigProblem:
    """One problem in the config file: its YAML path, file position and explanation."""

    path: tuple[PathPart, ...]
    message: str
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based; only for YAML syntax errors

    def render(self, source: str) -> str:
        """One line: ``source:line: path: message``."""
        where = source
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        body = f"{format_path(self.path)}: {self.message}" if self.path else self.message
        return f"{where}: {body}"


def format_path(path: Sequence[PathPart]) -> str:
    """``('tables', 'staff', 'key', 0)`` -> ``tables.staff.key[0]``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def parse_path(text: str) -> tuple[PathPart, ...]:
    """``tables.staff.key[0]`` -> ``('tables', 'staff', 'key', 0)``."""
    parts: list[PathPart] = []
    for token in re.finditer(r"\[(\d+)\]|([^.\[\]]+)", text):
        index, name = token.groups()
        parts.append(int(index) if index is not None else name)
    return tuple(parts)


def config_error(problems: Sequence[ConfigProblem], source: str) -> ConfigError:
    """One ConfigError listing every problem, one line each, in file order."""
    ordered = sorted(problems, key=lambda p: (p.line is None, p.line or 0))
    return ConfigError("\n".join(problem.render(source) for problem in ordered))


class _NameKeys(yaml.constructor.SafeConstructor):
    """Safe construction whose mapping keys are always the text written in the file.

    Every key in datadesk.yaml is a name (an option, a table, a column), so a table called
    ``2024`` or a column called ``on`` must stay text instead of becoming a number or a boolean.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """Build a dict from a mapping node, keeping merge keys (<<) working."""
        if not isinstance(node, yaml.MappingNode):
            raise yaml.constructor.ConstructorError(
                None, None, f"expected a mapping, found {node.id}", node.start_mark
            )
        self.flatten_mapping(node)
        mapping: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    "keys must be plain names, not lists or mappings",
                    key_node.start_mark,
                )
            mapping[key_node.value] = self.construct_object(value_node, deep=deep)
        return mapping


class _NameKeyLoader(_NameKeys, yaml.SafeLoader):
    """PyYAML's own parser: its error messages are the ones shown to the administrator."""


# libyaml's parser where PyYAML was built with it: about ten times faster, which every command's
# start-up feels. A file it refuses is parsed again by PyYAML's parser for the message.
_FAST_LOADERS: tuple[type[Any], ...] = (
    (type("_FastNameKeyLoader", (_NameKeys, yaml.CSafeLoader), {}),)
    if getattr(yaml, "__with_libyaml__", False)
    else ()
)


def _parse(text: str, loader_class: type[Any]) -> tuple[yaml.Node | None, Any, list[ConfigProblem]]:
    """The root node, the plain data and the duplicate keys of a YAML text."""
    loader = loader_class(text)
    try:
        root: yaml.Node | None = loader.get_single_node()
        # Before construction: flattening merge keys rewrites the nodes.
        duplicates = list(_duplicate_keys(root)) if root is not None else []
        data = loader.construct_document(root) if root is not None else None
        return root, data, duplicates
    finally:
        loader.dispose()


class ConfigDocument:
    """A parsed YAML config file: its plain data plus a way to find the line of any path."""

    def __init__(self, text: str, source: str = "datadesk.yaml") -> None:
        self.source = source
        self.problems: list[ConfigProblem] = []
        self.root: yaml.Node | None
        self.data: Any
        for loader_class in (*_FAST_LOADERS, _NameKeyLoader):
            try:
                self.root, self.data, duplicates = _parse(text, loader_class)
                break
            except yaml.YAMLError as exc:
                if loader_class is _NameKeyLoader:
                    raise ConfigError(_describe_yaml_error(exc, text, source)) from None
        self.problems.extend(duplicates)

    def node_at(self, path: Sequence[PathPart]) -> yaml.Node | None:
        """The value node at a YAML path, or None when the path is not in the file."""
        node = self.root
        for part in path:
            found = _child(node, part) if node is not None else None
            if found is None:
                return None
            node = found[1]
        return node

    def line_of(self, path: Sequence[PathPart] | str) -> int | None:
        """1-based line of the deepest part of ``path`` present in the file."""
        parts = parse_path(path) if isinstance(path, str) else path
        node, line = self.root, None
        for part in parts:
            found = _child(node, part) if node is not None else None
            if found is None:
                break
            line, node = found[0], found[1]
        return line

    def keys_at(self, path: Sequence[PathPart]) -> list[tuple[str, int]]:
        """Keys written in the mapping at ``path`` with their lines, in file order."""
        node = self.node_at(path) if path else self.root
        if not isinstance(node, yaml.MappingNode):
            return []
        return [
            (key.value, key.start_mark.line + 1)
            for key, _ in node.value
            if isinstance(key, yaml.ScalarNode) and key.tag != MERGE_TAG
        ]


def _child(node: yaml.Node, part: PathPart) -> tuple[int, yaml.Node] | None:
    """(line, value node) of a mapping key or sequence item; the last of equal keys wins."""
    if isinstance(node, yaml.MappingNode) and isinstance(part, str):
        match = None
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == part:
                match = (key.start_mark.line + 1, value)
        return match
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        item = node.value[part]
        return item.start_mark.line + 1, item
    return None


def _duplicate_keys(root: yaml.Node) -> Iterator[ConfigProblem]:
    """Every key written twice in the same mapping, reported at its second occurrence."""
    seen_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, tuple[PathPart, ...]]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if id(node) in seen_nodes:  # aliases share nodes; also guards recursive anchors
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            stack.extend((item, (*path, i)) for i, item in enumerate(node.value))
        elif isinstance(node, yaml.MappingNode):
            first_line: dict[str, int] = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != MERGE_TAG:
                    line = key.start_mark.line + 1
                    if key.value in first_line:
                        yield ConfigProblem(
                            (*path, key.value),
                            f"duplicate key (first written on line {first_line[key.value]});"
                            " merge the two into one",
                            line,
                        )
                    else:
                        first_line[key.value] = line
                    stack.append((value, (*path, key.value)))


def _describe_yaml_error(exc: yaml.YAMLError, text: str, source: str) -> str:
    """One line for a YAML syntax error, with line and column when PyYAML knows them."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem and exc.context_mark is not None:
            problem += f" ({exc.context} started on line {exc.context_mark.line + 1})"
        if "'\\t'" in problem:
            problem += "; indent with spaces, not tabs"
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        return f"{where}: YAML syntax error: {problem}"
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        char = exc.character
        code = f"U+{ord(char) if isinstance(char, str) else char:04X}"
        return f"{source}:{line}:{column}: YAML syntax error: character {code} is not allowed"
    return f"{source}: YAML error: {' '.join(str(exc).split())}"
