"""A static evaluator of Terraform expressions over python-hcl2's parse tree: what Terraform knows
without a plan (literals, ``var.*`` defaults and ``*.tfvars``, ``locals``, ``path.module``/``path.root``/
``path.cwd``, ``jsonencode``, ``file``, ``templatefile``, heredocs and string templates, ``merge``,
``concat``, ``for`` expressions and the other pure functions modules use). What it cannot know becomes
an :class:`Unknown` (a string ``${the expression}``), never an error, so a control is decided from the
keys that are known."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lark import Token, Tree

from ecs5probe.errors import TaskDefinitionError

Scope = Mapping[str, Any]
Node = Tree[Token]


class Unknown(str):
    """A value only a plan can tell: ``${the expression}`` (``is_unknown`` reads it so)."""

    @classmethod
    def of(cls, expr: str) -> Unknown:
        expr = " ".join(expr.split())[:200]
        return cls(expr if "${" in expr else "${" + expr + "}")


def unknown(value: Any) -> bool:
    return isinstance(value, Unknown)


def _kids(t: Node) -> list[Node]:
    return [c for c in t.children if isinstance(c, Tree) and c.data != "new_line_or_comment"]


def _tokens(t: Node) -> list[Token]:
    return [c for c in t.children if isinstance(c, Token)]


@dataclass
class Located:
    """Where an object literal sits: its line, and its keys' lines."""

    line: int
    keys: dict[str, int] = field(default_factory=dict)


@functools.lru_cache(maxsize=256)
def _parse(text: str) -> Node:
    import hcl2

    try:
        return hcl2.parses_to_tree(text)
    except Exception as e:  # lark raises errors of several kinds
        raise TaskDefinitionError(f"malformed HCL: {str(e).splitlines()[0][:200]}") from None


def parse(path: Path, text: str) -> Node:
    try:
        return _parse(text)
    except TaskDefinitionError as e:
        raise TaskDefinitionError(f"{path}: {e}") from None


def _name(t: Node | Token) -> str:
    """An identifier's or a block label's text."""
    if isinstance(t, Token):
        return str(t)
    if t.data == "string":
        return "".join(str(p.children[0]) for p in _kids(t) if isinstance(p.children[0], Token))
    tok = next((c for c in t.children if isinstance(c, Token)), None)
    if tok is not None:
        return str(tok)
    return _name(_kids(t)[0])


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
    body = _kids(tree)[0] if tree.data == "start" else tree
    return [_block(b, src) for b in _kids(body) if b.data == "block"]


def _block(t: Node, src: str) -> Block:
    parts = _kids(t)
    head = [p for p in parts if p.data in ("identifier", "string", "keyword", "literal_value")]
    body = next(p for p in parts if p.data == "body")
    attrs, nested = {}, []
    for item in _kids(body):
        if item.data == "attribute":
            k = _kids(item)
            attrs[_name(k[0])] = k[-1]
        elif item.data == "block":
            nested.append(_block(item, src))
    return Block(_name(head[0]), [_name(h) for h in head[1:]], attrs, nested, t.meta.line, t.meta.end_line, src)


class Module:
    """What Terraform knows statically about one module (the directory of ``path``)."""

    def __init__(self, path: Path, text: str):
        self.path = path
        self.dir = path.parent.resolve()
        here = str(self.dir)
        self.paths = {"module": here, "root": here, "cwd": here}
        self.variables: dict[str, tuple[Node, str] | None] = {}
        self.locals: dict[str, tuple[Node, str]] = {}
        self.tfvars: dict[str, tuple[Node, str]] = {}
        self.located: dict[int, Located] = {}
        self._alive: list[Any] = []  # what ``located`` describes stays alive: its ids are not reused
        self._evaluating: set[str] = set()
        self._cache: dict[str, Any] = {}
        self.tree = parse(path, text)
        self.blocks = blocks(self.tree, text)
        files = [(self.blocks, text)]
        for sibling in sorted(path.parent.glob("*.tf")):
            if sibling.name != path.name:
                try:
                    s = sibling.read_text(encoding="utf-8", errors="replace")
                    files.append((blocks(parse(sibling, s), s), s))
                except (OSError, TaskDefinitionError):
                    continue  # a broken sibling is reported when it is read itself
        for bs, src in files:
            for b in bs:
                if b.type == "variable" and b.labels:
                    d = b.attributes.get("default")
                    self.variables[b.labels[0]] = (d, src) if d is not None else None
                elif b.type == "locals":
                    for k, v in b.attributes.items():
                        self.locals[k] = (v, src)
        for tfvars in [path.parent / "terraform.tfvars", *sorted(path.parent.glob("*.auto.tfvars"))]:
            try:
                s = tfvars.read_text(encoding="utf-8", errors="replace")
                tree = parse(tfvars, s)
            except (OSError, TaskDefinitionError):
                continue
            for item in _kids(_kids(tree)[0]):
                if item.data == "attribute":
                    parts = _kids(item)
                    self.tfvars[_name(parts[0])] = (parts[-1], s)

    # -- references -------------------------------------------------------------------------------
    def var(self, name: str) -> Any:
        if name in self.tfvars:
            node, src = self.tfvars[name]
            return self.eval(node, {}, src)
        found = self.variables.get(name)
        if found is None:
            return Unknown.of(f"var.{name}")
        return self.eval(found[0], {}, found[1])

    def local(self, name: str) -> Any:
        key = f"local.{name}"
        if key in self._cache:
            return self._cache[key]
        if name not in self.locals or key in self._evaluating:
            return Unknown.of(key)
        self._evaluating.add(key)
        try:
            node, src = self.locals[name]
            value = self.eval(node, {}, src)
        finally:
            self._evaluating.discard(key)
        self._cache[key] = value
        return value

    # -- expressions ------------------------------------------------------------------------------
    def eval(self, t: Node | Token, scope: Scope, src: str) -> Any:
        if isinstance(t, Token):
            return str(t)
        handler = getattr(self, f"_e_{t.data}", None)
        if handler is None:
            return Unknown.of(self._text(t, src))
        return handler(t, scope, src)

    def _text(self, t: Node, src: str) -> str:
        m = t.meta
        if getattr(m, "empty", True) or m.start_pos is None:
            return str(t.data)
        return src[m.start_pos : m.end_pos]

    def _e_expr_term(self, t: Node, scope: Scope, src: str) -> Any:
        k = _kids(t)
        return self.eval(k[0], scope, src) if k else Unknown.of(self._text(t, src))

    def _e_int_lit(self, t: Node, scope: Scope, src: str) -> Any:
        return int(str(t.children[0]))

    def _e_float_lit(self, t: Node, scope: Scope, src: str) -> Any:
        return float(str(t.children[0]))

    def _e_literal_value(self, t: Node, scope: Scope, src: str) -> Any:
        return {"true": True, "false": False, "null": None}[str(t.children[0])]

    def _e_identifier(self, t: Node, scope: Scope, src: str) -> Any:
        name = _name(t)
        return scope[name] if name in scope else Unknown.of(name)

    def _e_string(self, t: Node, scope: Scope, src: str) -> Any:
        out: list[Any] = []
        for part in _kids(t):
            c = part.children[0]
            if isinstance(c, Token):
                if c.type == "ESCAPED_INTERPOLATION":
                    out.append(str(c)[1:])
                elif c.type == "ESCAPED_DIRECTIVE":
                    out.append(str(c)[1:])
                else:
                    out.append(_unescape(str(c)))
            elif c.data == "interpolation":
                out.append(self.eval(_kids(c)[0], scope, src))
            else:  # a %{ } directive
                return Unknown.of(self._text(t, src).strip('"'))
        if len(out) == 1 and not isinstance(out[0], str):
            return out[0]  # "${x}" is x itself, whatever its type
        if any(unknown(v) or isinstance(v, (list, dict)) for v in out):
            return Unknown.of(self._text(t, src).strip('"'))
        return "".join(_to_str(v) for v in out)

    def _e_heredoc_template(self, t: Node, scope: Scope, src: str) -> Any:
        return self._heredoc(str(t.children[0]), scope, trim=False)

    def _e_heredoc_template_trim(self, t: Node, scope: Scope, src: str) -> Any:
        return self._heredoc(str(t.children[0]), scope, trim=True)

    def _heredoc(self, raw: str, scope: Scope, trim: bool) -> Any:
        lines = raw.split("\n")
        body = lines[1:-2] if lines[-1] == "" else lines[1:-1]
        if trim:
            indents = [len(x) - len(x.lstrip()) for x in body if x.strip()]
            cut = min(indents) if indents else 0
            body = [x[cut:] for x in body]
        return self.template("\n".join(body) + "\n", scope)

    def _e_tuple(self, t: Node, scope: Scope, src: str) -> Any:
        return [self.eval(k, scope, src) for k in _kids(t)]

    def _e_object(self, t: Node, scope: Scope, src: str) -> Any:
        out: dict[str, Any] = {}
        where = Located(t.meta.line)
        for elem in _kids(t):
            key_node, value_node = _kids(elem)[0], _kids(elem)[-1]
            inner = _kids(key_node)
            kt = inner[0] if inner else key_node
            if kt.data == "expr_term" and _kids(kt) and _kids(kt)[0].data == "identifier" and len(kt.children) == 1:
                key: Any = _name(_kids(kt)[0])
            elif kt.data == "keyword":
                key = _name(kt)
            else:
                key = self.eval(kt, scope, src)
            if unknown(key) or not isinstance(key, (str, int, float, bool)):
                return Unknown.of(self._text(t, src))
            out[_to_str(key)] = self.eval(value_node, scope, src)
            where.keys[_to_str(key)] = elem.meta.line
        self.locate(out, where)
        return out

    def locate(self, value: Any, where: Located) -> None:
        self.located[id(value)] = where
        self._alive.append(value)

    def _e_get_attr_expr_term(self, t: Node, scope: Scope, src: str) -> Any:
        base, attr = _kids(t)
        name = _name(_kids(attr)[0])
        root = _kids(base)[0] if base.data == "expr_term" and len(base.children) == 1 else None
        if root is not None and root.data == "identifier":
            r = _name(root)
            if r not in scope:
                if r == "var":
                    return self.var(name)
                if r == "local":
                    return self.local(name)
                if r == "path":
                    return self.paths.get(name, Unknown.of(f"path.{name}"))
                return Unknown.of(self._text(t, src))
        return _index(self.eval(base, scope, src), name, self._text(t, src))

    def _e_index_expr_term(self, t: Node, scope: Scope, src: str) -> Any:
        base, idx = _kids(t)
        if idx.data == "short_index":
            key: Any = int(str(_tokens(idx)[-1]))
        else:
            key = self.eval(_kids(idx)[0], scope, src)
        return _index(self.eval(base, scope, src), key, self._text(t, src))

    def _e_conditional(self, t: Node, scope: Scope, src: str) -> Any:
        cond, yes, no = _kids(t)
        c = self.eval(cond, scope, src)
        if isinstance(c, bool):
            return self.eval(yes if c else no, scope, src)
        a, b = self.eval(yes, scope, src), self.eval(no, scope, src)
        return a if a == b and not unknown(a) else Unknown.of(self._text(t, src))

    def _e_binary_op(self, t: Node, scope: Scope, src: str) -> Any:
        left, term = _kids(t)[:2]
        op_node, right = _kids(term)
        op = str(op_node.children[0]) if op_node.children else "?"
        a, b = self.eval(left, scope, src), self.eval(right, scope, src)
        if op == "&&" and (a is False or b is False):
            return False
        if op == "||" and (a is True or b is True):
            return True
        if unknown(a) or unknown(b):
            return Unknown.of(self._text(t, src))
        try:
            return _BINARY[op](a, b)
        except (KeyError, TypeError, ValueError, ZeroDivisionError):
            return Unknown.of(self._text(t, src))

    def _e_unary_op(self, t: Node, scope: Scope, src: str) -> Any:
        op = str(_tokens(t)[0])
        v = self.eval(_kids(t)[0], scope, src)
        if op == "!" and isinstance(v, bool):
            return not v
        if op == "-" and isinstance(v, (int, float)) and not isinstance(v, bool):
            return -v
        return Unknown.of(self._text(t, src))

    def _for(self, t: Node, scope: Scope, src: str) -> tuple[list[dict[str, Any]], list[Node]] | None:
        intro = next(k for k in _kids(t) if k.data == "for_intro")
        names = [_name(k) for k in _kids(intro) if k.data == "identifier"]
        coll = self.eval([k for k in _kids(intro) if k.data != "identifier"][0], scope, src)
        if isinstance(coll, Mapping):
            pairs = list(coll.items())
        elif isinstance(coll, list):
            pairs = list(enumerate(coll))
        else:
            return None
        rest = [k for k in _kids(t) if k.data != "for_intro"]
        cond = next((k for k in rest if k.data == "for_cond"), None)
        exprs = [k for k in rest if k.data != "for_cond"]
        scopes = []
        for k, v in pairs:
            s = dict(scope)
            if len(names) == 2:
                s[names[0]], s[names[1]] = k, v
            else:
                s[names[0]] = v
            if cond is not None:
                ok = self.eval(_kids(cond)[0], s, src)
                if not isinstance(ok, bool):
                    return None
                if not ok:
                    continue
            scopes.append(s)
        return scopes, exprs

    def _e_for_tuple_expr(self, t: Node, scope: Scope, src: str) -> Any:
        found = self._for(t, scope, src)
        if found is None:
            return Unknown.of(self._text(t, src))
        scopes, exprs = found
        return [self.eval(exprs[0], s, src) for s in scopes]

    def _e_for_object_expr(self, t: Node, scope: Scope, src: str) -> Any:
        found = self._for(t, scope, src)
        if found is None or any(c.type == "ELLIPSIS" for c in _tokens(t)):
            return Unknown.of(self._text(t, src))
        scopes, exprs = found
        out = {}
        for s in scopes:
            k = self.eval(exprs[0], s, src)
            if unknown(k) or not isinstance(k, str):
                return Unknown.of(self._text(t, src))
            out[k] = self.eval(exprs[1], s, src)
        return out

    def _e_function_call(self, t: Node, scope: Scope, src: str) -> Any:
        ids = [k for k in _kids(t) if k.data == "identifier"]
        name = "::".join(_name(i) for i in ids)
        args_node = next((k for k in _kids(t) if k.data == "arguments"), None)
        nodes = _kids(args_node) if args_node is not None else []
        expand = args_node is not None and any(c.type == "ELLIPSIS" for c in _tokens(args_node))
        if name == "try":
            for n in nodes:
                v = self.eval(n, scope, src)
                return v  # the first argument, known or not (an error is not static)
        args = [self.eval(n, scope, src) for n in nodes]
        if expand and args:
            if not isinstance(args[-1], list):
                return Unknown.of(self._text(t, src))
            args = args[:-1] + args[-1]
        fn = self.functions().get(name.removeprefix("provider::terraform::"))
        if fn is None:
            return Unknown.of(self._text(t, src))
        if name in ("merge", "concat", "coalesce", "lookup", "coalescelist"):
            pass  # partial knowledge is theirs to judge
        elif name == "templatefile" and args and not unknown(args[0]):
            pass  # the variables it is given may be partly unknown: the template says where they go
        elif any(_has_unknown(a) for a in args) and name not in ("jsonencode", "tolist", "toset", "tomap"):
            return Unknown.of(self._text(t, src))
        try:
            result = fn(*args)
        except (TypeError, ValueError, KeyError, IndexError, OSError, TaskDefinitionError):
            return Unknown.of(self._text(t, src))
        if name == "merge" and isinstance(result, dict):  # where its maps are written
            places = [self.located[id(a)] for a in args if id(a) in self.located]
            if places:
                keys = {k: line for p in places for k, line in p.keys.items()}
                self.locate(result, Located(places[0].line, keys))
        return result

    # -- templates and functions ------------------------------------------------------------------
    def template(self, text: str, scope: Scope, json_aware: bool = True) -> Any:
        """A template's text with its ``${}`` interpolations; unknown ones stay ``${expr}`` where JSON
        keeps them a string (inside a JSON string as they are, elsewhere quoted). A ``%{}`` directive
        makes the whole template unknown."""
        out: list[str] = []
        i = 0
        in_string = False
        while i < len(text):
            if text.startswith("$${", i) or text.startswith("%%{", i):
                out.append(text[i + 1 : i + 3])
                i += 3
                continue
            if text.startswith("%{", i):
                return Unknown.of("a template %{ } directive")
            if text.startswith("${", i):
                j = _closing(text, i + 2)
                if j < 0:
                    return Unknown.of(text[i : i + 100])
                expr = text[i + 2 : j].strip().strip("~").strip()
                value = self.expression(expr, scope)
                if unknown(value) or isinstance(value, (list, dict)):
                    marker = value if unknown(value) else Unknown.of(expr)
                    if not json_aware or in_string:
                        out.append(json.dumps(str(marker))[1:-1] if json_aware else str(marker))
                    else:
                        out.append(json.dumps(str(marker)))
                else:
                    s = _to_str(value)
                    out.append(json.dumps(s)[1:-1] if json_aware and in_string else s)
                i = j + 1
                continue
            ch = text[i]
            if ch == '"' and (i == 0 or text[i - 1] != "\\"):
                in_string = not in_string
            out.append(ch)
            i += 1
        return "".join(out)

    def expression(self, expr: str, scope: Scope) -> Any:
        src = "x = " + expr + "\n"
        try:
            tree = _parse(src)
        except TaskDefinitionError:
            return Unknown.of(expr)
        attr = _kids(_kids(tree)[0])[0]
        return self.eval(_kids(attr)[-1], scope, src)

    def _read(self, path: Any) -> str:
        if not isinstance(path, str):
            raise ValueError(path)
        p = Path(path)
        p = p if p.is_absolute() else self.dir / p
        return p.read_text(encoding="utf-8")

    def _templatefile(self, path: Any, variables: Any = None) -> Any:
        text = self._read(path)
        if variables is not None and not isinstance(variables, Mapping):
            return Unknown.of(f"templatefile({path!r}, ...)")
        return self.template(text, dict(variables or {}))

    def functions(self) -> dict[str, Callable[..., Any]]:
        return {
            "jsonencode": lambda v: json.dumps(v),
            "jsondecode": lambda s: json.loads(s),
            "file": self._read,
            "templatefile": self._templatefile,
            "merge": _merge,
            "concat": _concat,
            "tolist": list,
            "toset": list,
            "tomap": dict,
            "tostring": _to_str,
            "tonumber": lambda v: v if isinstance(v, (int, float)) else json.loads(v),
            "tobool": lambda v: v if isinstance(v, bool) else {"true": True, "false": False}[v],
            "flatten": _flatten,
            "lookup": _lookup,
            "coalesce": _coalesce,
            "coalescelist": lambda *a: next((x for x in a if x), Unknown.of("coalescelist()")),
            "compact": lambda xs: [x for x in xs if x not in ("", None)],
            "distinct": lambda xs: [x for i, x in enumerate(xs) if x not in xs[:i]],
            "join": lambda sep, xs: sep.join(_to_str(x) for x in xs),
            "split": lambda sep, s: s.split(sep),
            "upper": lambda s: s.upper(),
            "lower": lambda s: s.lower(),
            "trimspace": lambda s: s.strip(),
            "replace": lambda s, a, b: s.replace(a, b),
            "format": _format,
            "length": len,
            "element": lambda xs, i: xs[i % len(xs)],
            "keys": lambda m: sorted(m),
            "values": lambda m: [m[k] for k in sorted(m)],
            "contains": lambda xs, x: x in xs,
            "abspath": lambda p: str((self.dir / p).resolve()),
            "dirname": lambda p: str(Path(p).parent),
            "basename": lambda p: Path(p).name,
            "yamldecode": _yamldecode,
        }


def _closing(text: str, start: int) -> int:
    depth, quote, i = 0, False, start
    while i < len(text):
        ch = text[i]
        if ch == "\\" and quote:
            i += 2
            continue
        if ch == '"':
            quote = not quote
        elif not quote and ch == "{":
            depth += 1
        elif not quote and ch == "}":
            if depth == 0:
                return i
            depth -= 1
        i += 1
    return -1


def _unescape(s: str) -> str:
    if "\\" not in s:
        return s
    try:
        return str(json.loads('"' + s + '"'))
    except json.JSONDecodeError:
        return s


def _to_str(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _has_unknown(v: Any) -> bool:
    if unknown(v):
        return True
    if isinstance(v, list):
        return any(_has_unknown(x) for x in v)
    if isinstance(v, Mapping):
        return any(_has_unknown(x) for x in v.values())
    return False


def _index(v: Any, key: Any, expr: str) -> Any:
    if unknown(v) or unknown(key):
        return Unknown.of(expr)
    try:
        if isinstance(v, list):
            return v[int(key)]
        if isinstance(v, Mapping):
            return v[_to_str(key)]
    except (KeyError, IndexError, ValueError, TypeError):
        pass
    return Unknown.of(expr)


def _merge(*maps: Any) -> Any:
    out: dict[str, Any] = {}
    for m in maps:
        if m is None:
            continue
        if not isinstance(m, Mapping):
            return Unknown.of("merge() of a value not known statically")
        out.update(m)
    return out


def _concat(*lists: Any) -> Any:
    out: list[Any] = []
    for xs in lists:
        if not isinstance(xs, list):
            return Unknown.of("concat() of a value not known statically")
        out += xs
    return out


def _flatten(xs: Any) -> Any:
    out: list[Any] = []
    for x in xs:
        if unknown(x):
            return Unknown.of("flatten() of a value not known statically")
        out += _flatten(x) if isinstance(x, list) else [x]
    return out


def _lookup(m: Any, key: Any, default: Any = None) -> Any:
    if unknown(m) or unknown(key):
        return Unknown.of("lookup()")
    if key in m:
        return m[key]
    if default is None:
        raise KeyError(key)
    return default


def _coalesce(*xs: Any) -> Any:
    for x in xs:
        if unknown(x):
            return Unknown.of("coalesce()")
        if x not in (None, ""):
            return x
    raise ValueError("no non-empty argument")


def _format(spec: str, *args: Any) -> str:
    it = iter(args)
    return re.sub(r"%[sdvq%]", lambda m: "%" if m.group(0) == "%%" else _to_str(next(it)), spec)


def _yamldecode(s: str) -> Any:
    from ruamel.yaml import YAML

    return YAML(typ="safe").load(s)


_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "%": lambda a, b: a % b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
    "&&": lambda a, b: bool(a and b),
    "||": lambda a, b: bool(a or b),
}
