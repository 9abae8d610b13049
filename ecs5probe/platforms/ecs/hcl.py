"""A static evaluator of Terraform expressions over python-hcl2's parse tree: what Terraform knows
without a plan (literals, ``var.*`` defaults and ``*.tfvars``, ``locals``, ``path.module``/``path.root``/
``path.cwd``, ``jsonencode``, ``file``, ``templatefile``, heredocs and string templates, ``merge``,
``concat``, ``for`` expressions and the other pure functions modules use). What it cannot know becomes
an :class:`Unknown` (a string ``${the expression}``), never an error, so a control is decided from the
keys that are known."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lark import Token

from ecs5probe.errors import TaskDefinitionError
from ecs5probe.platforms.ecs.hcl_template import render
from ecs5probe.platforms.ecs.hcl_tree import (
    Block,
    Located,
    Node,
    blocks,
    chain,
    kids,
    module_blocks,
    name_of,
    parse,
    parse_text,
    tfvars,
    tokens,
)
from ecs5probe.platforms.ecs.hcl_values import (
    BINARY,
    Unknown,
    has_unknown,
    index,
    pure_functions,
    to_str,
    unescape,
    unknown,
)

__all__ = ["Block", "Located", "Module", "Unknown", "blocks", "kids", "parse", "unknown"]

Scope = Mapping[str, Any]


class Module:
    """What Terraform knows statically about one module (the directory of ``path``)."""

    def __init__(self, path: Path, text: str, inputs: Scope | None = None, root: str = "", callers: Any = ()):
        """A called module's ``inputs`` (see tf_local), ``root`` module's directory and ``callers``' directories."""
        self.path = path
        self.dir = path.parent.resolve()
        here = str(self.dir)
        self.paths = {"module": here, "root": root or here, "cwd": root or here}
        self.inputs = inputs
        self.callers: tuple[Path, ...] = callers
        self.calls, self.declared = dict[str, Block](), dict[str, Block]()  # module calls, variables: tf_local
        self.outputs: dict[str, tuple[Node, str]] = {}
        self.variables: dict[str, tuple[Node, str] | None] = {}
        self.locals: dict[str, tuple[Node, str]] = {}
        self.tfvars: dict[str, tuple[Node, str]] = {}
        self.located: dict[int, Located] = {}
        self._alive: list[Any] = []  # what ``located`` describes stays alive: its ids are not reused
        self._evaluating: set[str] = set()
        self._cache: dict[str, Any] = {}
        self.tree = parse(path, text)
        self.blocks = blocks(self.tree, text)
        self.data: dict[tuple[str, str], Block] = {}
        for bs, src in module_blocks(path, text, self.blocks):
            for b in bs:
                if b.type == "variable" and b.labels:
                    d, self.declared[b.labels[0]] = b.attributes.get("default"), b
                    self.variables[b.labels[0]] = (d, src) if d is not None else None
                elif b.type == "locals":
                    self.locals.update({k: (v, src) for k, v in b.attributes.items()})
                elif b.type == "data" and len(b.labels) == 2:
                    self.data[(b.labels[0], b.labels[1])] = b
                elif b.type == "module" and b.labels:
                    self.calls[b.labels[0]] = b
                elif b.type == "output" and b.labels and "value" in b.attributes:
                    self.outputs[b.labels[0]] = (b.attributes["value"], b.src)
        self.tfvars = tfvars(path) if inputs is None else {}

    def rendered(self, name: str) -> Any:
        """``data.template_file.NAME.rendered`` (the template provider): its template with its vars."""
        b = self.data.get(("template_file", name))
        if b is None or "template" not in b.attributes:
            return Unknown.of(f"data.template_file.{name}.rendered")
        text = self.eval(b.attributes["template"], {}, b.src)
        variables = self.eval(b.attributes["vars"], {}, b.src) if "vars" in b.attributes else {}
        for nested in (n for n in b.blocks if n.type == "vars"):  # Terraform 0.11's vars { } block
            variables = {**variables, **{k: self.eval(v, {}, b.src) for k, v in nested.attributes.items()}}
        if unknown(text) or not isinstance(text, str) or not isinstance(variables, Mapping):
            return Unknown.of(f"data.template_file.{name}.rendered")
        return self.template(text, dict(variables))

    # -- references -------------------------------------------------------------------------------
    def var(self, name: str) -> Any:
        if self.inputs is not None and name in self.inputs:
            from ecs5probe.platforms.ecs.tf_local import conform

            return conform(self, name, self.inputs[name])
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
        k = kids(t)
        return self.eval(k[0], scope, src) if k else Unknown.of(self._text(t, src))

    def _e_int_lit(self, t: Node, scope: Scope, src: str) -> Any:
        return int(str(t.children[0]))

    def _e_float_lit(self, t: Node, scope: Scope, src: str) -> Any:
        return float(str(t.children[0]))

    def _e_literal_value(self, t: Node, scope: Scope, src: str) -> Any:
        return {"true": True, "false": False, "null": None}[str(t.children[0])]

    def _e_identifier(self, t: Node, scope: Scope, src: str) -> Any:
        name = name_of(t)
        return scope[name] if name in scope else Unknown.of(name)

    def _e_string(self, t: Node, scope: Scope, src: str) -> Any:
        out: list[Any] = []
        for part in kids(t):
            c = part.children[0]
            if isinstance(c, Token):
                if c.type == "ESCAPED_INTERPOLATION":
                    out.append(str(c)[1:])
                elif c.type == "ESCAPED_DIRECTIVE":
                    out.append(str(c)[1:])
                else:
                    out.append(unescape(str(c)))
            elif c.data == "interpolation":
                out.append(self.eval(kids(c)[0], scope, src))
            else:  # a %{ } directive
                return Unknown.of(self._text(t, src).strip('"'))
        if len(out) == 1 and not isinstance(out[0], str):
            return out[0]  # "${x}" is x itself, whatever its type
        if any(unknown(v) or isinstance(v, (list, dict)) for v in out):
            return Unknown.of(self._text(t, src).strip('"'))
        return "".join(to_str(v) for v in out)

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
        return [self.eval(k, scope, src) for k in kids(t)]

    def _e_object(self, t: Node, scope: Scope, src: str) -> Any:
        out: dict[str, Any] = {}
        where = Located(t.meta.line)
        for elem in kids(t):
            key_node, value_node = kids(elem)[0], kids(elem)[-1]
            inner = kids(key_node)
            kt = inner[0] if inner else key_node
            if kt.data == "expr_term" and kids(kt) and kids(kt)[0].data == "identifier" and len(kt.children) == 1:
                key: Any = name_of(kids(kt)[0])
            elif kt.data == "keyword":
                key = name_of(kt)
            else:
                key = self.eval(kt, scope, src)
            if unknown(key) or not isinstance(key, (str, int, float, bool)):
                return Unknown.of(self._text(t, src))
            out[to_str(key)] = self.eval(value_node, scope, src)
            where.keys[to_str(key)] = elem.meta.line
        self.locate(out, where)
        return out

    def locate(self, value: Any, where: Located) -> None:
        self.located[id(value)] = where
        self._alive.append(value)

    def _e_get_attr_expr_term(self, t: Node, scope: Scope, src: str) -> Any:
        names = chain(t)
        if names and names[0] == "module" and names[0] not in scope and len(names) == 3:
            from ecs5probe.platforms.ecs.tf_local import output

            return output(self, names[1], names[2], self._text(t, src))
        if names and names[0] == "data" and names[0] not in scope:
            if len(names) == 4 and names[1] == "template_file" and names[3] == "rendered":
                return self.rendered(names[2])
            return Unknown.of(self._text(t, src))
        base, attr = kids(t)
        name = name_of(kids(attr)[0])
        root = kids(base)[0] if base.data == "expr_term" and len(base.children) == 1 else None
        if root is not None and root.data == "identifier":
            r = name_of(root)
            if r not in scope:
                if r == "var":
                    return self.var(name)
                if r == "local":
                    return self.local(name)
                if r == "path":
                    return self.paths.get(name, Unknown.of(f"path.{name}"))
                return Unknown.of(self._text(t, src))
        return index(self.eval(base, scope, src), name, self._text(t, src))

    def _e_index_expr_term(self, t: Node, scope: Scope, src: str) -> Any:
        base, idx = kids(t)
        if idx.data == "short_index":
            key: Any = int(str(tokens(idx)[-1]))
        else:
            key = self.eval(kids(idx)[0], scope, src)
        return index(self.eval(base, scope, src), key, self._text(t, src))

    def _e_conditional(self, t: Node, scope: Scope, src: str) -> Any:
        cond, yes, no = kids(t)
        c = self.eval(cond, scope, src)
        if isinstance(c, bool):
            return self.eval(yes if c else no, scope, src)
        a, b = self.eval(yes, scope, src), self.eval(no, scope, src)
        return a if a == b and not unknown(a) else Unknown.of(self._text(t, src))

    def _e_binary_op(self, t: Node, scope: Scope, src: str) -> Any:
        left, term = kids(t)[:2]
        op_node, right = kids(term)
        op = str(op_node.children[0]) if op_node.children else "?"
        a, b = self.eval(left, scope, src), self.eval(right, scope, src)
        if op == "&&" and (a is False or b is False):
            return False
        if op == "||" and (a is True or b is True):
            return True
        if unknown(a) or unknown(b):
            return Unknown.of(self._text(t, src))
        try:
            return BINARY[op](a, b)
        except (KeyError, TypeError, ValueError, ZeroDivisionError):
            return Unknown.of(self._text(t, src))

    def _e_unary_op(self, t: Node, scope: Scope, src: str) -> Any:
        op = str(tokens(t)[0])
        v = self.eval(kids(t)[0], scope, src)
        if op == "!" and isinstance(v, bool):
            return not v
        if op == "-" and isinstance(v, (int, float)) and not isinstance(v, bool):
            return -v
        return Unknown.of(self._text(t, src))

    def _for(self, t: Node, scope: Scope, src: str) -> tuple[list[dict[str, Any]], list[Node]] | None:
        intro = next(k for k in kids(t) if k.data == "for_intro")
        names = [name_of(k) for k in kids(intro) if k.data == "identifier"]
        coll = self.eval([k for k in kids(intro) if k.data != "identifier"][0], scope, src)
        if isinstance(coll, Mapping):
            pairs = list(coll.items())
        elif isinstance(coll, list):
            pairs = list(enumerate(coll))
        else:
            return None
        rest = [k for k in kids(t) if k.data != "for_intro"]
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
                ok = self.eval(kids(cond)[0], s, src)
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
        if found is None or any(c.type == "ELLIPSIS" for c in tokens(t)):
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
        ids = [k for k in kids(t) if k.data == "identifier"]
        name = "::".join(name_of(i) for i in ids)
        args_node = next((k for k in kids(t) if k.data == "arguments"), None)
        nodes = kids(args_node) if args_node is not None else []
        expand = args_node is not None and any(c.type == "ELLIPSIS" for c in tokens(args_node))
        if name == "try":
            for n in nodes:
                v = self.eval(n, scope, src)
                return v  # the first argument, known or not (an error is not static)
        args = [self.eval(n, scope, src) for n in nodes]
        if expand and args:
            if not isinstance(args[-1], list):
                return Unknown.of(self._text(t, src))
            args = args[:-1] + args[-1]
        fn = pure_functions(self._read, self._templatefile, self.dir).get(name.removeprefix("provider::terraform::"))
        if fn is None:
            return Unknown.of(self._text(t, src))
        if name in ("merge", "concat", "coalesce", "lookup", "coalescelist"):
            pass  # partial knowledge is theirs to judge
        elif name == "templatefile" and args and not unknown(args[0]):
            pass  # the variables it is given may be partly unknown: the template says where they go
        elif any(has_unknown(a) for a in args) and name not in ("jsonencode", "tolist", "toset", "tomap"):
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
    def template(self, text: str, scope: Scope) -> Any:
        """A template's text, its interpolations evaluated in ``scope`` (see :func:`render`)."""
        return render(text, lambda expr, bound: self.expression(expr, {**scope, **bound}))

    def expression(self, expr: str, scope: Scope) -> Any:
        src = "x = " + expr + "\n"
        try:
            tree = parse_text(src)
        except TaskDefinitionError:
            return Unknown.of(expr)
        attr = kids(kids(tree)[0])[0]
        return self.eval(kids(attr)[-1], scope, src)

    def _read(self, path: Any) -> str:
        if not isinstance(path, str):
            raise ValueError(path)
        p = Path(path)
        if not p.is_absolute() and not (self.dir / p).is_file() and (Path.cwd() / p).is_file():
            p = Path.cwd() / p  # relative to where terraform runs (the root module): here, the user's cwd
        p = p if p.is_absolute() else self.dir / p
        return p.read_text(encoding="utf-8")

    def _templatefile(self, path: Any, variables: Any = None) -> Any:
        text = self._read(path)
        if variables is not None and not isinstance(variables, Mapping):
            return Unknown.of(f"templatefile({path!r}, ...)")
        return self.template(text, dict(variables or {}))
