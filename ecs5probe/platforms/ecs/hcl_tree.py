"""python-hcl2's parse tree of a Terraform file: parsing (cached), blocks with their attributes'
expression trees and lines, and the tree's small accessors."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

from lark import Token, Tree

from ecs5probe.errors import TaskDefinitionError

Node = Tree[Token]


def kids(t: Node) -> list[Node]:
    return [c for c in t.children if isinstance(c, Tree) and c.data != "new_line_or_comment"]


def tokens(t: Node) -> list[Token]:
    return [c for c in t.children if isinstance(c, Token)]


@dataclass
class Located:
    """Where an object literal sits: its line, and its keys' lines."""

    line: int
    keys: dict[str, int] = field(default_factory=dict)


@functools.lru_cache(maxsize=256)
def parse_text(text: str) -> Node:
    import hcl2

    try:
        return hcl2.parses_to_tree(text)
    except Exception as e:  # lark raises errors of several kinds
        raise TaskDefinitionError(f"malformed HCL: {str(e).splitlines()[0][:200]}") from None


def parse(path: Path, text: str) -> Node:
    try:
        return parse_text(text)
    except TaskDefinitionError as e:
        raise TaskDefinitionError(f"{path}: {e}") from None


def name_of(t: Node | Token) -> str:
    """An identifier's or a block label's text."""
    if isinstance(t, Token):
        return str(t)
    if t.data == "string":
        return "".join(str(p.children[0]) for p in kids(t) if isinstance(p.children[0], Token))
    tok = next((c for c in t.children if isinstance(c, Token)), None)
    if tok is not None:
        return str(tok)
    return name_of(kids(t)[0])


@dataclass
class Block:
    """A block of a file: its type, labels, attributes (expression trees) and nested blocks."""

    type: str
    labels: list[str]
    attributes: dict[str, Node]
    blocks: list[Block]
    line: int
    end: int
    src: str


def blocks(tree: Node, src: str) -> list[Block]:
    body = kids(tree)[0] if tree.data == "start" else tree
    return [block_of(b, src) for b in kids(body) if b.data == "block"]


def block_of(t: Node, src: str) -> Block:
    parts = kids(t)
    head = [p for p in parts if p.data in ("identifier", "string", "keyword", "literal_value")]
    body = next(p for p in parts if p.data == "body")
    attrs, nested = {}, []
    for item in kids(body):
        if item.data == "attribute":
            k = kids(item)
            attrs[name_of(k[0])] = k[-1]
        elif item.data == "block":
            nested.append(block_of(item, src))
    return Block(name_of(head[0]), [name_of(h) for h in head[1:]], attrs, nested, t.meta.line, t.meta.end_line, src)


def chain(t: Node) -> list[str] | None:
    """``a.b.c`` as ``["a", "b", "c"]`` (None for anything but a chain of attributes on a name)."""
    if t.data == "expr_term" and len(t.children) == 1 and isinstance(t.children[0], Tree):
        return chain(t.children[0])
    if t.data == "identifier":
        return [name_of(t)]
    if t.data == "get_attr_expr_term":
        base, attr = kids(t)
        head = chain(base)
        return None if head is None else [*head, name_of(kids(attr)[0])]
    return None


def module_blocks(path: Path, text: str, mine: list[Block]) -> list[tuple[list[Block], str]]:
    """The blocks of every ``.tf`` file of ``path``'s module (its own first), with their text."""
    files = [(mine, text)]
    for sibling in sorted(path.parent.glob("*.tf")):
        if sibling.name != path.name:
            try:
                s = sibling.read_text(encoding="utf-8", errors="replace")
                files.append((blocks(parse(sibling, s), s), s))
            except (OSError, TaskDefinitionError):
                continue  # a broken sibling is reported when it is read itself
    return files


def tfvars(path: Path) -> dict[str, tuple[Node, str]]:
    """The values ``terraform.tfvars`` and ``*.auto.tfvars`` beside ``path`` give variables."""
    out: dict[str, tuple[Node, str]] = {}
    for f in [path.parent / "terraform.tfvars", *sorted(path.parent.glob("*.auto.tfvars"))]:
        try:
            s = f.read_text(encoding="utf-8", errors="replace")
            tree = parse(f, s)
        except (OSError, TaskDefinitionError):
            continue
        for item in kids(kids(tree)[0]):
            if item.data == "attribute":
                parts = kids(item)
                out[name_of(parts[0])] = (parts[-1], s)
    return out
