"""Measuring an entry's rules over its rows: the counts and sample failing rows of one run.

Value rules run as one DuckDB aggregate over one pass of the rows (``rules_sql``); rules
against another entry (referential, cross-source) join the two tables in DuckDB; table
rules (freshness, row count) read the table's facts. Rows come from the lake table (a
streamed scan of one version) or, for a logically accessed mount, from the source now,
projection and the mount's row cap pushed down. No authorisation here: the caller has
checked it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa
from sqlalchemy.orm import Session
from sqlglot import exp

from govdata.catalog.models import CatalogEntry
from govdata.config import Settings
from govdata.core.clock import now
from govdata.core.errors import GovDataError, InvalidInput
from govdata.exchange import logical
from govdata.exchange.models import Mount
from govdata.exchange.vocab import MountMode
from govdata.governance import quality_pushdown, rules_sql
from govdata.governance.quality_models import QualityRule
from govdata.governance.quality_rules import (
    CYCLE_HOURS,
    ROW_COUNT_CHANGE,
    Fields,
    entry_fields,
    find_entry,
    mount_of,
    resolve_date,
)
from govdata.governance.quality_schemas import RuleKind
from govdata.lake.tables import Lake

SAMPLES = 5
VALUE_KINDS = frozenset(rules_sql.KINDS)
_THIS, _OTHER = "this_rows", "other_rows"


@dataclass
class Measured:
    rule_id: str
    checked: int = 0
    failed: int = 0
    samples: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    # Counted by the source system itself (pushed down), not by DuckDB here.
    at_source: bool = False


@dataclass
class Rows:
    """Where one entry's rows are read from, re-readable for every pass a run needs: a lake
    table at one version, or a logical mount's source, read once (under the row cap) only
    if some rule needs the rows themselves."""

    lake_table: str | None
    version: int | None
    capped: bool
    total: int | None
    lake: Lake | None = None
    mount: Mount | None = None
    _fetch: Callable[[], pa.Table] | None = None
    _table: pa.Table | None = None

    @property
    def logical(self) -> bool:
        return self._fetch is not None

    def _capped_rows(self) -> pa.Table:
        if self._table is None:
            assert self._fetch is not None and self.mount is not None
            self._table = self._fetch()
            self.total = self._table.num_rows
            self.capped = self.total >= self.mount.row_cap
        return self._table

    def reader(self, columns: Sequence[str] | None = None) -> pa.RecordBatchReader:
        if self.logical:
            t = self._capped_rows()
            t = t if columns is None else t.select(list(columns))
            return pa.RecordBatchReader.from_batches(t.schema, t.to_batches())
        assert self.lake is not None and self.lake_table is not None
        return self.lake.scan(self.lake_table, columns=columns, version=self.version)

    def count(self) -> int:
        """The rows the run checks (for a logical mount, those under the row cap)."""
        if self.total is None:
            self._capped_rows()
        assert self.total is not None
        return self.total

    @property
    def names(self) -> list[str]:
        if self.mount is not None and self.logical:
            return [str(c["field"]) for c in self.mount.columns]
        assert self.lake is not None and self.lake_table is not None
        return list(self.lake.dataset(self.lake_table, self.version).schema.names)


def not_collected(entry: CatalogEntry) -> InvalidInput:
    return InvalidInput(
        "目录尚无可检查的数据：请先挂载并归集",
        "The entry has no data to check yet: mount and collect it first",
        code="quality_no_data",
        details={"entry_id": entry.id},
    )


def open_rows(s: Session, settings: Settings, entry: CatalogEntry) -> Rows:
    """The entry's rows: its lake table at the current version, or its logical source."""
    mount = mount_of(s, entry.id)
    if mount is None:
        raise not_collected(entry)
    if mount.mode == MountMode.LOGICAL:

        def fetch() -> pa.Table:
            keys = [k for k in mount.key_columns if k in {c["field"] for c in mount.columns}]
            return logical.fetch(s, settings, mount, limit=mount.row_cap, order_by=keys or None)

        return Rows(None, None, False, None, mount=mount, _fetch=fetch)
    lake = Lake.from_settings(settings)
    if not mount.lake_table or not lake.exists(mount.lake_table):
        raise not_collected(entry)
    version = lake.table(mount.lake_table).version()
    total = lake.dataset(mount.lake_table, version).count_rows()
    return Rows(mount.lake_table, version, False, total, lake=lake, mount=mount)


def _spec(rule: QualityRule, fields: Fields) -> rules_sql.RuleSpec:
    params = dict(rule.params or {})
    if rule.kind == RuleKind.DATE_VALID:
        for bound in ("min", "max"):
            if params.get(bound):
                params[bound] = resolve_date(str(params[bound])).isoformat()
    column = fields.column(rule.item) if rule.item else None
    return rules_sql.RuleSpec(rule.id, rule.kind, column, params)


def _query(sql: exp.Expr, relations: dict[str, pa.RecordBatchReader]) -> list[tuple[Any, ...]]:
    """Run one SQLGlot-built query over Arrow streams registered under ``relations``."""
    con = duckdb.connect()
    try:
        for name, reader in relations.items():
            con.register(name, reader)
        return con.execute(sql.sql(dialect="duckdb")).fetchall()
    finally:
        con.close()


def _columns(cursor_names: Sequence[str], rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    return [dict(zip(cursor_names, (logical.jsonable(v) for v in r), strict=True)) for r in rows]


def _sample_columns(rule: QualityRule, fields: Fields, keys: Sequence[str]) -> list[str]:
    out = list(keys)
    if rule.item and fields.column(rule.item) not in out:
        out.append(fields.column(rule.item))
    return out


def _col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table=table, quoted=True)


def _not_null(e: exp.Expr) -> exp.Expr:
    return exp.Not(this=exp.Is(this=e, expression=exp.null()))


def _text(e: exp.Expr) -> exp.Expr:
    return exp.cast(e, "varchar")


def _value_samples(
    rows: Rows, rule: QualityRule, spec: rules_sql.RuleSpec, fields: Fields, keys: Sequence[str]
) -> list[dict[str, Any]]:
    names = rows.names
    if rule.kind == RuleKind.UNIQUE:
        col = _col(str(spec.field))
        n = exp.Count(this=exp.Star())
        dup = (
            exp.select(col, exp.alias_(n, "n"))
            .from_(_THIS)
            .where(_not_null(col.copy()))
            .group_by(col.copy())
            .having(exp.GT(this=n.copy(), expression=exp.Literal.number(1)))
            .order_by(exp.Ordered(this=exp.column("n"), desc=True))
            .limit(SAMPLES)
        )
        got = _query(dup, {_THIS: rows.reader([str(spec.field)])})
        return _columns([str(spec.field), "count"], got)
    wanted = _sample_columns(rule, fields, keys)
    if rule.kind == RuleKind.CUSTOM:
        wanted += [c for c in names if c not in wanted][:4]
    failing = (
        exp.select(*(_col(c) for c in wanted))
        .from_(_THIS)
        .where(rules_sql.failure_condition(spec, names))
        .limit(SAMPLES)
    )
    return _columns(wanted, _query(failing, {_THIS: rows.reader()}))


def _other_rows(s: Session, settings: Settings, code: str) -> tuple[Rows, Fields]:
    other = find_entry(s, code)
    if other is None:
        raise InvalidInput(
            f"比对目录 {code} 不存在",
            f"The compared entry {code} does not exist",
            code="quality_rule_invalid",
        )
    return open_rows(s, settings, other), entry_fields(s, other)


def _referential(
    s: Session,
    settings: Settings,
    rows: Rows,
    rule: QualityRule,
    fields: Fields,
    keys: Sequence[str],
) -> Measured:
    p = rule.params
    other, other_fields = _other_rows(s, settings, str(p["entry"]))
    assert rule.item is not None
    col = fields.column(rule.item)
    ref = other_fields.column(str(p["item"]))
    wanted = _sample_columns(rule, fields, keys)
    a_col = _col(col, "a")
    refs = exp.select(exp.alias_(_col(ref), "k")).distinct().from_(_OTHER).subquery("b")
    missing = exp.and_(
        _not_null(a_col.copy()), exp.Is(this=exp.column("k", "b"), expression=exp.null())
    )
    joined = (
        exp.select()
        .from_(exp.alias_(exp.to_table(_THIS), "a"))
        .join(
            refs,
            on=exp.EQ(this=_text(a_col.copy()), expression=_text(exp.column("k", "b"))),
            join_type="left",
        )
    )
    count = joined.copy().select(exp.Count(this=a_col.copy()), exp.func("count_if", missing.copy()))
    counts = _query(count, {_THIS: rows.reader(wanted), _OTHER: other.reader([ref])})[0]
    out = Measured(rule.id, int(counts[0] or 0), int(counts[1] or 0))
    if out.failed:
        sample = joined.select(*(_col(c, "a") for c in wanted)).where(missing).limit(SAMPLES)
        got = _query(sample, {_THIS: rows.reader(wanted), _OTHER: other.reader([ref])})
        out.samples = _columns(wanted, got)
    return out


def _cross_source(
    s: Session, settings: Settings, rows: Rows, rule: QualityRule, fields: Fields
) -> Measured:
    """Of the keys both entries hold, how many disagree on the field (spaces trimmed; one
    side empty and the other not is a disagreement)."""
    p = rule.params
    other, other_fields = _other_rows(s, settings, str(p["entry"]))
    assert rule.item is not None
    key, col = fields.column(str(p["key"])), fields.column(rule.item)
    okey, ocol = other_fields.column(str(p["other_key"])), other_fields.column(str(p["other_item"]))
    a_v, b_v = exp.column("v", "a"), exp.column("v", "b")
    differ = exp.NullSafeNEQ(
        this=exp.func("trim", _text(a_v.copy())), expression=exp.func("trim", _text(b_v.copy()))
    )
    pairs = (
        exp.select()
        .from_(
            exp.select(exp.alias_(_col(key), "k"), exp.alias_(_col(col), "v"))
            .from_(_THIS)
            .subquery("a")
        )
        .join(
            exp.select(exp.alias_(_col(okey), "k"), exp.alias_(_col(ocol), "v"))
            .from_(_OTHER)
            .subquery("b"),
            on=exp.EQ(this=_text(exp.column("k", "a")), expression=_text(exp.column("k", "b"))),
        )
        .where(exp.or_(_not_null(a_v.copy()), _not_null(b_v.copy())))
    )

    def readers() -> dict[str, pa.RecordBatchReader]:
        return {_THIS: rows.reader([key, col]), _OTHER: other.reader([okey, ocol])}

    counts = _query(
        pairs.copy().select(exp.Count(this=exp.Star()), exp.func("count_if", differ.copy())),
        readers(),
    )[0]
    out = Measured(rule.id, int(counts[0] or 0), int(counts[1] or 0))
    if out.failed:
        sample = pairs.select(exp.column("k", "a"), a_v.copy(), b_v.copy()).where(
            differ, append=True
        )
        got = _query(sample.limit(SAMPLES), readers())
        # The other side's value is the same kind of data: ``field@entry`` masks like field.
        out.samples = _columns([key, col, f"{col}@{p['entry']}"], got)
    return out


def _freshness(
    entry: CatalogEntry, rows: Rows, rule: QualityRule, fields: Fields, lake: Lake | None
) -> Measured:
    """Stale when the newest data is older than the update cycle allows: the newest value
    of a timestamp item when the rule names one, else the lake table's last commit."""
    hours = float(rule.params.get("max_age_hours") or CYCLE_HOURS.get(entry.update_cycle, 0))
    column = rule.params.get("column")
    latest: datetime | None = None
    if column:
        col = fields.column(str(column))
        newest = exp.select(exp.Max(this=exp.cast(_col(col), "timestamp"))).from_(_THIS)
        got = _query(newest, {_THIS: rows.reader([col])})
        value = got[0][0]
        latest = value.replace(tzinfo=UTC) if isinstance(value, datetime) else None
    elif rows.lake_table and lake is not None:
        history = lake.history(rows.lake_table, limit=1)
        stamp = history[0].get("timestamp") if history else None
        latest = datetime.fromtimestamp(int(stamp) / 1000, UTC) if stamp else None
    else:
        # A logical mount is read live: it is as fresh as its source.
        return Measured(rule.id, 1, 0)
    if latest is None:
        return Measured(rule.id, 1, 1, [{"latest": None, "max_age_hours": hours}])
    age = (now() - latest).total_seconds() / 3600
    failed = int(age > hours)
    sample = [{"latest": latest.isoformat(), "age_hours": round(age, 1), "max_age_hours": hours}]
    return Measured(rule.id, 1, failed, sample if failed else [])


def _row_count(rows: Rows, rule: QualityRule, previous: int | None) -> Measured:
    if previous is None or previous == 0:
        return Measured(rule.id, 1, 0)
    n = rows.count()
    change = abs(n - previous) / previous
    limit = float(rule.params.get("max_change", ROW_COUNT_CHANGE))
    if change <= limit:
        return Measured(rule.id, 1, 0)
    return Measured(rule.id, 1, 1, [{"rows": n, "previous": previous, "change": round(change, 4)}])


Progress = Callable[[int, int, str], None]


def measure(
    s: Session,
    settings: Settings,
    entry: CatalogEntry,
    rows: Rows,
    rules: Sequence[QualityRule],
    *,
    previous_rows: int | None,
    progress: Progress | None = None,
) -> Iterator[Measured]:
    """Every rule's counts and samples: value rules in one pass, then the others."""
    fields = entry_fields(s, entry)
    mount = rows.mount
    keys = [k for k in (mount.key_columns if mount else []) if k in rows.names][:3]
    value = [r for r in rules if r.kind in VALUE_KINDS]
    specs = [_spec(r, fields) for r in value]
    total = len(rules) + 1
    if progress:
        progress(0, total, "value rules")
    by_id: dict[str, rules_sql.RuleCount] = {}
    at_source: set[str] = set()
    if rows.logical and rows.mount is not None:
        pushed = quality_pushdown.count_at_source(
            s, settings, rows.mount, quality_pushdown.pushable(rows.mount, specs)
        )
        if pushed is not None:
            by_id.update(pushed.counts)
            at_source.update(pushed.counts)
            rows.total, rows.capped = pushed.rows, pushed.rows >= rows.mount.row_cap
    rest = [sp for sp in specs if sp.id not in by_id]
    if rest:
        by_id.update({c.rule_id: c for c in rules_sql.run_rules(rows.reader(), rest)})
    counts = [by_id[sp.id] for sp in specs]
    if progress:
        progress(1, total, "value rules")
    for step, (rule, spec, count) in enumerate(zip(value, specs, counts, strict=True), start=2):
        out = Measured(rule.id, count.checked, count.failed, at_source=rule.id in at_source)
        if count.failed:
            out.samples = _value_samples(rows, rule, spec, fields, keys)
        if progress:
            progress(step, total, rule.name)
        yield out
    lake = rows.lake
    for step, rule in enumerate((r for r in rules if r.kind not in VALUE_KINDS), len(value) + 2):
        try:
            if rule.kind == RuleKind.REFERENTIAL:
                yield _referential(s, settings, rows, rule, fields, keys)
            elif rule.kind == RuleKind.CROSS_SOURCE:
                yield _cross_source(s, settings, rows, rule, fields)
            elif rule.kind == RuleKind.FRESHNESS:
                yield _freshness(entry, rows, rule, fields, lake)
            else:
                yield _row_count(rows, rule, previous_rows)
        except GovDataError as exc:
            yield Measured(rule.id, error=exc.message_zh)
        if progress:
            progress(step, total, rule.name)
