"""SQL is built only from bound parameters, quoted identifiers and parsers — never from
values pasted into its text.

Every module under ``src/govdata`` is read with ``ast``. Wherever SQL text is made by
formatting (f-strings, ``%``, ``.format``, ``+``, ``"".join``) — recognised by its SQL
keywords, or by being handed to ``text()``, ``exec_driver_sql()``, ``execute()`` or a
DB-API cursor — each piece pasted in must be one of:

- a constant, a number (``int()``, ``float()``, ``len()``), or a bound-parameter
  placeholder string built from constants;
- an identifier quoted by ``govdata.core.sqlident`` (SQLAlchemy's identifier preparer of the
  dialect) — directly or through a dialect's ``quote`` method that delegates to it, which
  the second test checks;
- SQL rendered by SQLGlot (``Expression.sql``) or checked by its parser;
- a local name every assignment of which is one of these;
- or an entry of ``ALLOWED`` below, each with the reason it is safe.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from tests.security.srcwalk import modules

# Calls whose result is SQL text or a fragment of it, and whose argument is not a value.
SINKS = {
    "text",
    "exec_driver_sql",
    "execute",
    "executemany",
    "executescript",
    "read_sql",
    "sql",
    "query",
}
# Methods that quote an identifier. Each definition in src must reach core.sqlident
# (test_identifier_quoting_goes_through_the_dialect_preparer).
QUOTERS = {"quote_identifier", "quote", "_quote", "qualified", "_qualified", "_ident", "_table_ref"}
# Functions returning SQL that was itself built under these rules, or parsed by SQLGlot:
# ``.sql`` renders a SQLGlot expression; check_query/check_read_only return the user's one
# read-only SELECT after SQLGlot parsed it. The others build SQL fragments without SQL
# keywords of their own, so inside them every formatted string counts as SQL and is checked.
PARSED = {"sql", "check_query", "check_read_only"}
STRICT_BUILDERS = {
    ("sources/sql.py", name) for name in ("_wrapped", "_order", "_timed", "_where", "_select")
}
STRICT_BUILDERS |= {
    ("exchange/engine/returnflow.py", name)
    for name in ("sql_type", "_mariadb_type", "_postgres_type")
}
SQL_BUILDERS = PARSED | {name for _, name in STRICT_BUILDERS}
# Calls that return a number whatever they are given (check_limit validates an int).
NUMBERS = {"int", "float", "len", "round", "check_limit"}
STRING_METHODS = {"replace", "strip", "upper", "lower"}

# (module, function, name) -> why the name is safe to paste into SQL text.
ALLOWED: dict[tuple[str, str, str], str] = {
    ("sources/sql.py", "_wrapped", "body"): (
        "the user's query after check_read_only parsed it with SQLGlot as one read-only SELECT"
    ),
    ("sources/sql.py", "_wrapped", "projection"): '"*" or quoted column names (_ident)',
    ("sources/sql.py", "_timed", "sql"): "SQL built by the connector under these rules",
    ("sources/sql.py", "_where", "op"): "one of the comparison operators of Filter, checked",
    ("exchange/engine/full.py", "_fast_batches", "op"): '">=" or "<", checked just above',
    # The demo's synthetic source systems: DDL from the table definitions in that package.
    ("demo/sources/schema.py", "sqlite_create", "kind"): "a column type of the definitions",
    ("demo/sources/schema.py", "mariadb_create", "kind"): "a column type of the definitions",
    ("demo/sources/schema.py", "sqlite_create", "note"): "a definition's comment, on one line",
    ("demo/sources/schema.py", "sqlite_create", "table_note"): "the same, for the table",
}

STATEMENT = re.compile(
    r"^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|PRAGMA|TRUNCATE|WITH|SET|USE|SHOW)\b"
)
CLAUSE = re.compile(r"\b(FROM|WHERE|VALUES|JOIN|ORDER BY|GROUP BY|LIMIT|ON CONFLICT)\b")


def _literal_text(node: ast.AST) -> str:
    return "".join(
        n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    )


def _looks_like_sql(node: ast.AST) -> bool:
    text = _literal_text(node)
    return bool(STATEMENT.search(text) or CLAUSE.search(text))


def _is_text(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp):
        return _is_text(node.left) or _is_text(node.right)
    return isinstance(node, ast.Call) and _name_of(node.func) in ("format", "join")


def _is_formatting(node: ast.AST, *, sink: bool = False) -> bool:
    """Text made from pieces. A sink's argument counts even without a literal in sight."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        return sink or _is_text(node)
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("format", "join")
        and (sink or _is_text(node.func.value))
    )


def _name_of(func: ast.AST) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


@dataclass
class Scope:
    module: str
    function: str
    node: ast.AST
    params: set[str]
    module_constants: dict[str, ast.AST]
    class_constants: dict[str, list[ast.AST]]
    assigned: dict[str, list[ast.AST]] = field(default_factory=dict)
    loop_vars: set[str] = field(default_factory=set)

    def collect(self) -> None:
        for n in _own_nodes(self.node):
            if isinstance(n, ast.Assign):
                for target in n.targets:
                    if isinstance(target, ast.Name):
                        self.assigned.setdefault(target.id, []).append(n.value)
                    elif isinstance(target, ast.Tuple):
                        for elt in target.elts:
                            if isinstance(elt, ast.Name):
                                # Unpacked: safe only when it comes from a SQL builder.
                                self.assigned.setdefault(elt.id, []).append(n.value)
            elif isinstance(n, (ast.AugAssign, ast.AnnAssign)) and isinstance(n.target, ast.Name):
                if n.value is not None:
                    self.assigned.setdefault(n.target.id, []).append(n.value)
            elif (
                isinstance(n, ast.Call)
                and isinstance(n.func, ast.Attribute)
                and n.func.attr in ("append", "extend")
                and isinstance(n.func.value, ast.Name)
            ):
                self.assigned.setdefault(n.func.value.id, []).extend(n.args)
            elif isinstance(n, (ast.For, ast.comprehension)):
                for t in ast.walk(n.target):
                    if isinstance(t, ast.Name):
                        self.loop_vars.add(t.id)


class Checker:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.problems: list[str] = []
        self.used: set[tuple[str, str, str]] = set()
        self._resolving: set[str] = set()

    def allowed(self, name: str) -> bool:
        key = (self.scope.module, self.scope.function, name)
        if key in ALLOWED:
            self.used.add(key)
            return True
        return False

    def safe(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Constant):
            return True
        if isinstance(node, ast.JoinedStr):
            return all(self.safe(v) for v in node.values)
        if isinstance(node, ast.FormattedValue):
            return self.safe(node.value)
        if isinstance(node, ast.BinOp):
            return self.safe(node.left) and self.safe(node.right)
        if isinstance(node, (ast.Tuple, ast.List)):
            return all(self.safe(e) for e in node.elts)
        if isinstance(node, ast.IfExp):
            return self.safe(node.body) and self.safe(node.orelse)
        if isinstance(node, (ast.GeneratorExp, ast.ListComp)):
            return self.safe(node.elt)
        if isinstance(node, ast.Call):
            return self.safe_call(node)
        if isinstance(node, ast.Name):
            return self.safe_name(node.id)
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "self"
        ):
            values = self.scope.class_constants.get(node.attr, [])
            return bool(values) and all(isinstance(v, ast.Constant) for v in values)
        return False

    def safe_call(self, node: ast.Call) -> bool:
        name = _name_of(node.func)
        if name in QUOTERS or name in SQL_BUILDERS or name in NUMBERS:
            return True
        if name in ("min", "max"):
            return all(self.safe(a) for a in node.args)
        if isinstance(node.func, ast.Attribute):
            receiver = node.func.value
            if name == "join":
                return self.safe(receiver) and all(self.safe(a) for a in node.args)
            if name in STRING_METHODS:
                return self.safe(receiver) and all(isinstance(a, ast.Constant) for a in node.args)
            if name == "format":
                return self.safe(receiver) and all(self.safe(a) for a in node.args)
        return False

    def safe_name(self, name: str) -> bool:
        if self.allowed(name):
            return True
        if name in self._resolving:
            return True
        values = self.scope.assigned.get(name)
        if values is None:
            constant = self.scope.module_constants.get(name)
            return constant is not None and isinstance(constant, ast.Constant)
        if name in self.scope.params or name in self.scope.loop_vars:
            return False
        self._resolving.add(name)
        try:
            return all(self.safe(v) for v in values)
        finally:
            self._resolving.discard(name)

    def check(self, node: ast.AST) -> None:
        if not self.safe(node):
            self.problems.append(f"{self.scope.module}:{node.lineno} in {self.scope.function}")  # type: ignore[attr-defined]


Function = ast.FunctionDef | ast.AsyncFunctionDef


def _walk(tree: ast.Module) -> Iterator[tuple[ast.AST, Function | None]]:
    """Every node with the function it belongs to (None at module level), parents first."""
    stack: list[tuple[ast.AST, Function | None]] = [(tree, None)]
    while stack:
        node, owner = stack.pop()
        yield node, owner
        inner = node if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else owner
        stack.extend((child, inner) for child in ast.iter_child_nodes(node))


def _own_nodes(root: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a function, without those of functions nested in it (checked apart)."""
    stack = list(ast.iter_child_nodes(root))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def _scope(
    module: str,
    tree: ast.Module,
    owner: Function | None,
    class_constants: dict[str, list[ast.AST]],
) -> Scope:
    constants: dict[str, ast.AST] = {
        t.id: n.value
        for n in tree.body
        if isinstance(n, ast.Assign)
        for t in n.targets
        if isinstance(t, ast.Name)
    }
    if owner is None:
        return Scope(module, "<module>", tree, set(), constants, class_constants)
    args = owner.args
    params = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
    params |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
    scope = Scope(module, owner.name, owner, params, constants, class_constants)
    scope.collect()
    return scope


def problems_in(
    module: str, tree: ast.Module, used: set[tuple[str, str, str]] | None = None
) -> list[str]:
    """One pass finds the SQL text being built; only the functions doing it are analysed."""
    class_constants: dict[str, list[ast.AST]] = {}
    found: dict[Function | None, list[ast.AST]] = {}
    seen: set[int] = set()
    for node, owner in _walk(tree):
        if isinstance(node, ast.ClassDef):
            for stmt in node.body:
                if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None:
                    targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                    for t in targets:
                        if isinstance(t, ast.Name):
                            class_constants.setdefault(t.id, []).append(stmt.value)
        if id(node) in seen:
            continue
        strict = owner is not None and (module, owner.name) in STRICT_BUILDERS
        candidates: list[ast.AST] = []
        if _is_formatting(node) and (strict or _looks_like_sql(node)):
            candidates.append(node)
        if isinstance(node, ast.Call) and _name_of(node.func) in SINKS and node.args:
            first = node.args[0]
            if _is_formatting(first, sink=True):
                candidates.append(first)
        for candidate in candidates:
            # Parts of a checked expression are not checked again on their own.
            seen.update(id(n) for n in ast.walk(candidate))
            found.setdefault(owner, []).append(candidate)
    problems: list[str] = []
    for owner, candidates in found.items():
        checker = Checker(_scope(module, tree, owner, class_constants))
        for candidate in candidates:
            checker.check(candidate)
        problems.extend(checker.problems)
        if used is not None:
            used |= checker.used
    return problems


def find_problems(used: set[tuple[str, str, str]] | None = None) -> list[str]:
    problems: list[str] = []
    for module in modules():
        problems.extend(problems_in(module.path, module.tree, used))
    return sorted(set(problems))


def test_sql_text_is_built_only_from_safe_pieces() -> None:
    used: set[tuple[str, str, str]] = set()
    problems = find_problems(used)
    assert not problems, "SQL built from unchecked pieces:\n" + "\n".join(problems)
    # An exception nobody needs any more goes: the list only ever names live code.
    assert set(ALLOWED) - used == set()


def test_the_checker_catches_pasted_values() -> None:
    bad = """
def lookup(conn, name, limit):
    conn.execute(f"SELECT * FROM users WHERE name = '{name}'")
    conn.execute("SELECT * FROM t WHERE id = %s" % name)
    conn.execute("DELETE FROM t WHERE name = '" + name + "'")
    conn.execute("SELECT * FROM t WHERE a = {}".format(name))
    sql = "SELECT * FROM t"
    sql += " WHERE b = " + name
    conn.execute(sql)
    conn.execute(f"SELECT * FROM {quote(name)} LIMIT {int(limit)}", ())
"""
    found = problems_in("bad.py", ast.parse(bad))
    # Five pasted values; the quoted name and the integer limit pass.
    assert sorted(int(p.split(":")[1].split()[0]) for p in found) == [3, 4, 5, 6, 8]


def _defines(tree: ast.Module, names: set[str]) -> Iterator[ast.FunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name in names:
            yield node


def _is_abstract(fn: ast.FunctionDef) -> bool:
    body = [
        s for s in fn.body if not isinstance(s, ast.Expr) or not isinstance(s.value, ast.Constant)
    ]
    return not body or all(
        isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant) and s.value.value is ...
        for s in body
    )


def test_identifier_quoting_goes_through_the_dialect_preparer() -> None:
    wrong = []
    for module in modules():
        if module.path == "core/sqlident.py":
            continue
        for fn in _defines(module.tree, QUOTERS):
            if _is_abstract(fn):
                continue
            calls = {_name_of(n.func) for n in ast.walk(fn) if isinstance(n, ast.Call)}
            # Every quoter ends in core.sqlident, possibly through another quoter.
            if not calls & QUOTERS:
                wrong.append(f"{module.path}:{fn.lineno} {fn.name}")
    assert not wrong, "identifiers quoted by hand:\n" + "\n".join(wrong)
