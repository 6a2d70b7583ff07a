"""A small, strict reader of the DOT language, for reading our exporter's DOT text back fast.

It reads one graph as Graphviz's grammar (https://graphviz.org/doc/info/lang.html) defines it:
``[strict] (graph | digraph) [ID] { ... }`` holding node, edge and attribute statements
(``graph [...]``, ``node [...]``, ``edge [...]``, ``a=b``), subgraphs (named, ``cluster_...``
or anonymous, nested, as edge ends too) and ports (``a:p:n``), with ``//``, ``/* */`` and
``#`` line comments and optional semicolons. IDs are bare names, numerals, double-quoted
strings (``\\"`` escaped, backslash-newline a line continuation, ``"a" + "b"`` joined) and
HTML strings (``<...>`` with nested brackets). Anything else is a :class:`DiagramSyntaxError`
naming the line, what was expected and what was found.

Attribute values are kept as written, the way pydot gave them (a quoted value with its
quotes and escapes, an HTML value with its brackets; only line continuations are taken out),
so the caller decodes a label itself and sees how it was escaped. Names (of nodes, subgraphs,
attributes) are the ID's value as Graphviz reads it: ``"n1"`` and ``n1`` are one node. pydot's
pyparsing grammar took about 0.3 s per pipeline; this tokenizer and recursive descent parser
take a few milliseconds.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

__all__ = ["DiagramSyntaxError", "DotEdge", "DotGraph", "DotNode", "read_dot"]


class DiagramSyntaxError(ValueError):
    """A line outside the syntax our exporters may write, or a label that would not draw as
    text."""


@dataclass
class DotNode:
    """A node statement: the node's name, its attributes as written, the line it is on."""

    name: str
    attributes: dict[str, str]
    line: int


@dataclass
class DotEdge:
    """One edge of an edge statement (``a -> b -> c`` is two). A port at an end is the
    ``tailport``/``headport`` attribute, as Graphviz reads it."""

    source: str
    target: str
    attributes: dict[str, str]
    line: int


@dataclass
class DotGraph:
    """A graph or subgraph: its name (``None`` if anonymous), its own attributes (``a=b`` and
    ``graph [...]``), the ``node [...]``/``edge [...]`` defaults, and its statements in the
    order written."""

    name: str | None
    line: int
    attributes: dict[str, str] = field(default_factory=dict)
    defaults: dict[str, dict[str, str]] = field(default_factory=dict)
    nodes: list[DotNode] = field(default_factory=list)
    edges: list[DotEdge] = field(default_factory=list)
    subgraphs: list[DotGraph] = field(default_factory=list)
    strict: bool = False
    directed: bool = True

    def node_names(self) -> list[str]:
        """Every node named in this graph and its subgraphs (declared or an edge's end),
        once each, in the order written: what an edge to this subgraph reaches."""
        names: dict[str, None] = {}
        for node in self.nodes:
            names[node.name] = None
        for edge in self.edges:
            names[edge.source] = names[edge.target] = None
        for sub in self.subgraphs:
            names.update(dict.fromkeys(sub.node_names()))
        return list(names)


_KEYWORDS = {"strict", "graph", "digraph", "subgraph", "node", "edge"}
_COMPASS = {"n", "ne", "e", "se", "s", "sw", "w", "nw", "c", "_"}
# Graphviz's lexer: a name is letters (any character past ASCII counts as one), digits and
# '_', not starting with a digit; a numeral is -?(.digits | digits[.digits]).
_NAME = r"[A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_\u0080-\U0010ffff]*"
_NUMERAL = r"-?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)"
_TOKEN = re.compile(
    rf"""(?P<space>[ \t\r\f\v]+)|(?P<newline>\n)|(?P<line_comment>//[^\n]*)
    |(?P<block_comment>/\*)|(?P<edgeop>->|--)|(?P<numeral>{_NUMERAL})|(?P<name>{_NAME})
    |(?P<quoted>")|(?P<html><)|(?P<punct>[{{}}\[\]=;,:+])""",
    re.VERBOSE,
)
_QUOTED_BODY = re.compile(r'(?:[^"\\]|\\.)*', re.DOTALL)
# A backslash escapes the character after it, so only an unescaped one before a line break
# continues the line, as in Graphviz's lexer (pydot also took an escaped backslash's second
# half before a line break for one).
_CONTINUATION = re.compile(r"\\(\r?\n|.)", re.DOTALL)


def _continued(match: re.Match[str]) -> str:
    return "" if match.group(1) in ("\n", "\r\n") else match.group(0)


@dataclass
class _Token:
    kind: str  # "id", "keyword", "edgeop", "punct", "end"
    text: str  # as written: a keyword in lower case, a quoted string with its quotes
    line: int
    value: str = ""  # an ID's value as Graphviz reads it
    quoted: bool = False

    def shown(self) -> str:
        return "the end of the text" if self.kind == "end" else repr(self.text)


def _quoted_value(body: str) -> str:
    """Graphviz's value of a quoted string's body: ``\\"`` is a quote; every other
    backslash stays for the attribute's own reading (a label's ``\\n``, ``\\\\``)."""
    return re.sub(r'\\(["\\])', lambda m: m.group(0) if m.group(1) == "\\" else '"', body)


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos, line, line_start = 0, 1, 0
    while pos < len(text):
        if pos == line_start and text[pos] == "#":  # a C preprocessor line
            end = text.find("\n", pos)
            pos = len(text) if end < 0 else end
            continue
        match = _TOKEN.match(text, pos)
        if match is None:
            raise DiagramSyntaxError(
                f"line {line}: {text[pos]!r} starts no DOT token (expected an ID, a keyword, "
                "an edge operator or one of { } [ ] = ; , : +)"
            )
        kind = match.lastgroup
        end = match.end()
        if kind == "newline":
            line_start = end
            line += 1
        elif kind == "block_comment":
            close = text.find("*/", end)
            if close < 0:
                raise DiagramSyntaxError(f"line {line}: the comment '/*' is never closed")
            line += text.count("\n", pos, close)
            end = close + 2
            line_start = max(line_start, text.rfind("\n", pos, close) + 1)
        elif kind == "quoted":
            body = _QUOTED_BODY.match(text, end)
            assert body is not None  # the pattern matches the empty string
            if body.end() >= len(text):
                raise DiagramSyntaxError(f"line {line}: the string opened here is never closed")
            raw = _CONTINUATION.sub(_continued, body.group(0))
            tokens.append(_Token("id", f'"{raw}"', line, _quoted_value(raw), quoted=True))
            line += body.group(0).count("\n")
            end = body.end() + 1
            if "\n" in body.group(0):
                line_start = text.rfind("\n", pos, end) + 1
        elif kind == "html":
            depth, scan = 0, pos
            while scan < len(text):
                depth += {"<": 1, ">": -1}.get(text[scan], 0)
                scan += 1
                if depth == 0:
                    break
            if depth:
                raise DiagramSyntaxError(f"line {line}: the HTML string '<' is never closed")
            tokens.append(_Token("id", text[pos:scan], line, text[pos + 1 : scan - 1]))
            line += text.count("\n", pos, scan)
            end = scan
            if "\n" in text[pos:scan]:
                line_start = text.rfind("\n", pos, end) + 1
        elif kind == "numeral" and re.match(rf"{_NAME}|\.", text[end : end + 1]):
            raise DiagramSyntaxError(
                f"line {line}: the numeral {match.group(0)!r} runs into "
                f"{text[end]!r} (quote the ID, or put a space between)"
            )
        elif kind in ("numeral", "name"):
            word = match.group(0)
            if word.lower() in _KEYWORDS:
                tokens.append(_Token("keyword", word.lower(), line, word.lower()))
            else:
                tokens.append(_Token("id", word, line, word))
        elif kind in ("edgeop", "punct"):
            tokens.append(_Token(str(kind), match.group(0), line))
        pos = end
    tokens.append(_Token("end", "", line))
    return tokens


class _Parser:
    """Recursive descent over Graphviz's grammar, one method per rule."""

    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.at = 0
        self.directed = True

    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.at + ahead, len(self.tokens) - 1)]

    def fail(self, expected: str) -> DiagramSyntaxError:
        token = self.peek()
        return DiagramSyntaxError(f"line {token.line}: expected {expected}, found {token.shown()}")

    def take(self, text: str, expected: str | None = None) -> _Token:
        token = self.peek()
        if token.text != text or token.kind not in ("punct", "keyword", "edgeop"):
            raise self.fail(expected or repr(text))
        self.at += 1
        return token

    def takes(self, text: str) -> bool:
        token = self.peek()
        if token.text == text and token.kind in ("punct", "keyword", "edgeop"):
            self.at += 1
            return True
        return False

    def id(self, expected: str) -> _Token:
        """An ID; quoted strings joined by ``+`` are one."""
        token = self.peek()
        if token.kind != "id":
            raise self.fail(expected)
        self.at += 1
        if not token.quoted:
            return token
        raws, values = [token.text[1:-1]], [token.value]
        while self.takes("+"):
            more = self.peek()
            if more.kind != "id" or not more.quoted:
                raise self.fail("a double-quoted string after '+'")
            self.at += 1
            raws.append(more.text[1:-1])
            values.append(more.value)
        return _Token("id", '"' + "".join(raws) + '"', token.line, "".join(values), True)

    def graph(self) -> DotGraph:
        strict = self.takes("strict")
        token = self.peek()
        if not (self.takes("digraph") or self.takes("graph")):
            raise self.fail("'digraph' or 'graph'" if strict else "'strict', 'digraph' or 'graph'")
        self.directed = token.text == "digraph"
        name = self.id("the graph's name") if self.peek().kind == "id" else None
        graph = DotGraph(None if name is None else name.value, token.line)
        graph.strict, graph.directed = strict, self.directed
        self.take("{", "'{' opening the graph's body")
        self.statements(graph)
        if self.peek().kind != "end":
            raise self.fail("the end of the text after the graph's closing '}'")
        return graph

    def statements(self, graph: DotGraph) -> None:
        """Statements up to and including the closing ``}``."""
        while not self.takes("}"):
            if self.peek().kind == "end":
                raise self.fail(f"'}}' closing the graph opened on line {graph.line}")
            self.statement(graph)
            self.takes(";")

    def statement(self, graph: DotGraph) -> None:
        token = self.peek()
        if token.kind == "keyword" and token.text in ("graph", "node", "edge"):
            self.at += 1
            if self.peek().text != "[":
                raise self.fail(f"'[' opening the attribute list of '{token.text}'")
            attributes = self.attribute_lists()
            if token.text == "graph":
                graph.attributes.update(attributes)
            else:
                graph.defaults.setdefault(token.text, {}).update(attributes)
            return
        if token.kind == "id":
            start = self.at
            name = self.id("an attribute name")
            if self.takes("="):
                graph.attributes[name.value] = self.id(f"a value for {name.value}").text
                return
            self.at = start  # a node statement or an edge: read the ID again as a node's
        first = self.end(graph)
        if self.peek().kind == "edgeop":
            self.edges(graph, first, token.line)
        elif not isinstance(first, DotGraph):
            node, _ = first
            attributes = self.attribute_lists() if self.peek().text == "[" else {}
            graph.nodes.append(DotNode(node, attributes, token.line))

    def end(self, graph: DotGraph) -> DotGraph | tuple[str, str | None]:
        """An edge's end or a node statement's node: a subgraph, or a node ID with a port."""
        token = self.peek()
        if token.text == "{" or token.text == "subgraph":
            return self.subgraph(graph)
        name = self.id("a node ID, a subgraph, 'node', 'edge', 'graph' or '}'").value
        if not self.takes(":"):
            return name, None
        port = self.id("a port name after ':'").value
        if self.takes(":"):
            compass = self.id("a compass point after the port").value
            if compass not in _COMPASS:
                raise DiagramSyntaxError(
                    f"line {token.line}: {compass!r} is no compass point "
                    f"(expected one of {', '.join(sorted(_COMPASS))})"
                )
            port = f"{port}:{compass}"
        return name, port

    def subgraph(self, graph: DotGraph) -> DotGraph:
        token = self.peek()
        name = None
        if self.takes("subgraph") and self.peek().kind == "id":
            name = self.id("the subgraph's name").value
        sub = DotGraph(name, token.line, directed=self.directed)
        self.take("{", "'{' opening the subgraph's body")
        self.statements(sub)
        graph.subgraphs.append(sub)
        return sub

    def edges(self, graph: DotGraph, first: DotGraph | tuple[str, str | None], line: int) -> None:
        ends = [first]
        wanted = "->" if self.directed else "--"
        while self.peek().kind == "edgeop":
            if self.peek().text != wanted:
                kind = "a digraph" if self.directed else "an undirected graph"
                raise self.fail(f"'{wanted}' (the edges of {kind})")
            self.at += 1
            ends.append(self.end(graph))
        attributes = self.attribute_lists() if self.peek().text == "[" else {}
        for tail, head in itertools.pairwise(ends):
            for source, tailport in self._nodes_of(tail):
                for target, headport in self._nodes_of(head):
                    own = dict(attributes)
                    if tailport is not None:
                        own["tailport"] = tailport
                    if headport is not None:
                        own["headport"] = headport
                    graph.edges.append(DotEdge(source, target, own, line))

    @staticmethod
    def _nodes_of(end: DotGraph | tuple[str, str | None]) -> list[tuple[str, str | None]]:
        if isinstance(end, DotGraph):
            return [(name, None) for name in end.node_names()]
        return [end]

    def attribute_lists(self) -> dict[str, str]:
        """``[a=b, c=d; e=f][g=h]``: one or more lists, later settings winning."""
        attributes: dict[str, str] = {}
        while self.takes("["):
            while not self.takes("]"):
                name = self.id("an attribute name or ']'")
                self.take("=", f"'=' after the attribute name {name.text}")
                attributes[name.value] = self.id(f"a value for {name.value}").text
                if not self.takes(","):
                    self.takes(";")
        return attributes


def read_dot(text: str) -> DotGraph:
    """The one graph ``text`` holds; :class:`DiagramSyntaxError` naming the line, what was
    expected and what was found if it is not DOT."""
    return _Parser(text).graph()
