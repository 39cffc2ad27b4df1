"""Source system actions on SQLite and PostgreSQL stores, against real MariaDB, PostgreSQL,
SQLite and file sources: registration, checks, scope, tests, discovery, preview, uploads."""

from __future__ import annotations

import io
import json
import secrets as pysecrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from govdata.core.db import Database
from govdata.core.errors import GovDataError
from govdata.exchange.models import Mount
from govdata.sources import actions, registry
from govdata.sources.models import SourceSystem
from govdata.sources.schemas import (
    SourceCreate,
    SourceKind,
    SourceOut,
    SourceStatus,
    SourceUpdate,
)
from tests.catalog.conftest import org, published_entry, settings
from tests.exchange.sourcedb import SourceDb, mariadb_db, postgres_db
from tests.identity.conftest import Org, audit_rows

__all__ = ["org", "settings"]

PASSWORD = "S3cret-pw!"


@contextmanager
def mariadb_user(db: SourceDb, password: str = PASSWORD) -> Iterator[str]:
    """A MariaDB account with ``password`` that may use ``db`` (and nothing else)."""
    user = f"gd_{pysecrets.token_hex(4)}"
    hosts = ("localhost", "127.0.0.1", "%")
    for host in hosts:
        # With a bound parameter the driver formats the query: the % host is doubled.
        quoted = host.replace("%", "%%")
        db.execute(f"CREATE USER '{user}'@'{quoted}' IDENTIFIED BY %s", (password,))
        db.execute(f"GRANT ALL ON {db.name}.* TO '{user}'@'{host}'")
    try:
        yield user
    finally:
        for host in hosts:
            db.execute(f"DROP USER IF EXISTS '{user}'@'{host}'")


def register(org: Org, user: str, **fields: Any) -> SourceOut:
    fields.setdefault("department_id", org.dept["xn_stats"])
    with org.as_(user).act() as ctx:
        return actions.create_source(ctx, SourceCreate(**fields))


def sqlite_source(tmp_path: Path, rows: int = 3) -> str:
    path = tmp_path / "dept.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, city TEXT)")
        conn.executemany(
            "INSERT INTO people VALUES (?, ?, ?)",
            [(i, f"居民{i}", "西宁") for i in range(1, rows + 1)],
        )
    conn.close()
    return str(path)


def failure(fn: Any) -> GovDataError:
    with pytest.raises(GovDataError) as err:
        fn()
    return err.value


def stored(db: Database, source_id: str) -> SourceSystem:
    with db.sessions() as s:
        row = s.get(SourceSystem, source_id)
        assert row is not None
        s.expunge(row)
        return row


# Registration and its checks -----------------------------------------------------------------


def test_register_mariadb_seals_the_password_and_connects(org: Org, db: Database) -> None:
    with mariadb_db() as src_db, mariadb_user(src_db) as user:
        src_db.execute("CREATE TABLE t (id INT PRIMARY KEY)")
        out = register(
            org,
            "xn_officer",
            kind="mariadb",
            name="民政业务库",
            config={**src_db.config(), "user": user},
            secret={"password": PASSWORD},
        )
        assert out.secret_keys == ["password"]
        assert out.status == "untested" and out.config["port"] == 3306
        row = stored(db, out.id)
        assert row.secret and PASSWORD not in row.secret
        with org.as_("xn_officer").act() as ctx:
            result = actions.test_source(ctx, out.id)
        assert (result.status, result.error_code) == ("ok", None)
        assert stored(db, out.id).status == "ok"
        # Other domains reach the source through a detached snapshot.
        with db.sessions() as s:
            facts = registry.source_facts(s, out.id)
        assert facts is not None and facts.department_id == org.dept["xn_stats"]
        registry.connector_for(org.settings, facts).test_connection()
        params = registry.connection_params(org.settings, facts)
        assert params == {
            "host": src_db.host,
            "port": src_db.port,
            "database": src_db.name,
            "user": user,
            "password": PASSWORD,
        }
    [created] = audit_rows(db, "source.create")
    assert created["details"]["secret_keys"] == ["password"]  # type: ignore[index]
    assert PASSWORD not in str(created)


def test_config_is_checked_per_kind(org: Org, tmp_path: Path) -> None:
    def code(**fields: Any) -> tuple[str, Any]:
        err = failure(lambda: register(org, "xn_officer", name="x", **fields))
        return err.code, err.details

    c, details = code(kind="mariadb", config={"host": "h", "database": "d"})
    assert c == "source_config_invalid"
    assert ["user"] in [e["loc"] for e in details["errors"]]
    assert code(kind="postgresql", config={"host": "h", "database": "d", "user": "u", "port": 0})[
        0
    ] == ("source_config_invalid")
    assert code(kind="sqlite", config={"path": "relative.db"})[0] == "source_path_refused"
    own = org.settings.data_dir / "govdata.db"
    assert code(kind="sqlite", config={"path": str(own)})[0] == "source_path_refused"
    assert code(kind="file", config={"path": str(org.settings.data_dir)})[0] == (
        "source_path_refused"
    )
    assert code(kind="file", secret={"password": "x"})[0] == "source_secret_invalid"
    assert code(kind="http", config={"base_url": "ftp://x", "endpoints": [{}]})[0] == (
        "source_config_invalid"
    )
    c, details = code(
        kind="http",
        config={"base_url": "http://127.0.0.1:9", "endpoints": [{"name": "a", "paging": 3}]},
    )
    assert c == "source_config_invalid"


def test_path_roots_confine_server_paths(org: Org, tmp_path: Path) -> None:
    allowed = tmp_path / "exports"
    allowed.mkdir()
    settings = org.settings.model_copy(update={"source_path_roots": str(allowed)})
    assert registry.server_path(settings, str(allowed / "a.db")) == (allowed / "a.db").resolve()
    err = failure(lambda: registry.server_path(settings, str(tmp_path / "other.db")))
    assert err.code == "source_path_refused"
    # A link inside the allowed folder that leads out of it is refused too.
    (allowed / "link").symlink_to(tmp_path)
    assert failure(lambda: registry.server_path(settings, str(allowed / "link" / "x"))).code == (
        "source_path_refused"
    )


def test_names_are_unique_per_department(org: Org, tmp_path: Path) -> None:
    path = sqlite_source(tmp_path)
    register(org, "xn_officer", kind="sqlite", name="库", config={"path": path})
    err = failure(
        lambda: register(org, "xn_officer", kind="sqlite", name="库", config={"path": path})
    )
    assert err.code == "source_name_taken"
    register(
        org,
        "operator",
        kind="sqlite",
        name="库",
        config={"path": path},
        department_id=org.dept["hx_stats"],
    )


def test_update_replaces_only_what_is_given(org: Org, db: Database, tmp_path: Path) -> None:
    out = register(
        org,
        "xn_officer",
        kind="http",
        name="接口",
        config={"base_url": "http://127.0.0.1:9", "endpoints": [{"name": "a", "path": "/a"}]},
        secret={"token": "tok-1", "headers": {"X-Key": "k-1"}},
    )
    before = stored(db, out.id).secret
    with org.as_("xn_officer").act() as ctx:
        changed = actions.update_source(ctx, out.id, SourceUpdate(description="说明"))
    assert changed.description == "说明" and stored(db, out.id).secret == before
    with org.as_("xn_officer").act() as ctx:
        changed = actions.update_source(ctx, out.id, SourceUpdate(secret={"token": "tok-2"}))
    row = stored(db, out.id)
    assert row.secret != before and changed.secret_keys == ["headers", "token"]
    assert registry.credentials(org.settings, row) == {
        "token": "tok-2",
        "headers": {"X-Key": "k-1"},
    }
    with org.as_("xn_officer").act() as ctx:
        changed = actions.update_source(ctx, out.id, SourceUpdate(secret={"headers": None}))
    assert changed.secret_keys == ["token"]
    with org.as_("xn_officer").act() as ctx:
        changed = actions.update_source(ctx, out.id, SourceUpdate(clear_secret=True))
    assert changed.secret_keys == [] and stored(db, out.id).secret is None
    fields = [r["details"] for r in audit_rows(db, "source.update")]
    assert "tok-2" not in str(fields) and "k-1" not in str(fields)


# Connection tests -------------------------------------------------------------------------------


def _snapshot(db: Database, source_id: str) -> dict[str, Any]:
    row = stored(db, source_id)
    return {k: getattr(row, k) for k in ("name", "config", "secret", "updated_at", "description")}


@pytest.mark.parametrize("engine", ["mariadb", "postgresql"])
def test_bad_credentials_fail_the_test_and_change_nothing_else(
    org: Org, db: Database, engine: str
) -> None:
    make = mariadb_db if engine == "mariadb" else postgres_db
    with make() as src_db:
        if engine == "mariadb":
            with mariadb_user(src_db) as user:
                out = register(
                    org,
                    "xn_officer",
                    kind=engine,
                    name="库",
                    config={**src_db.config(), "user": user},
                    secret={"password": "Wrong-pw-42"},
                )
                before = _snapshot(db, out.id)
                with org.as_("xn_officer").act() as ctx:
                    result = actions.test_source(ctx, out.id)
        else:
            # The machine's PostgreSQL trusts local users: a role that does not exist is refused.
            out = register(
                org,
                "xn_officer",
                kind=engine,
                name="库",
                config={**src_db.config(), "user": "no_such_role"},
                secret={"password": "Wrong-pw-42"},
            )
            before = _snapshot(db, out.id)
            with org.as_("xn_officer").act() as ctx:
                result = actions.test_source(ctx, out.id)
    assert (result.status, result.error_code) == ("failed", "source_auth_failed")
    assert "Wrong-pw-42" not in str(result.model_dump())
    assert _snapshot(db, out.id) == before
    with org.as_("xn_officer").act() as ctx:
        seen = actions.get_source(ctx, out.id)
    assert (seen.status, seen.last_error_code) == ("failed", "source_auth_failed")
    assert seen.last_checked_at is not None and seen.last_error
    [audit] = audit_rows(db, "source.test")
    assert audit["details"] == {"status": "failed", "error_code": "source_auth_failed"}


def test_an_unreachable_source_fails_the_test(org: Org, db: Database) -> None:
    out = register(
        org,
        "xn_officer",
        kind="postgresql",
        name="关停的库",
        config={"host": "127.0.0.1", "port": 1, "database": "x", "user": "u"},
    )
    with org.as_("xn_officer").act() as ctx:
        result = actions.test_source(ctx, out.id)
    assert (result.status, result.error_code) == ("failed", "source_unreachable")
    with org.as_("xn_officer").act() as ctx:
        assert actions.get_source(ctx, out.id).last_error_code == "source_unreachable"


def test_a_wrong_node_key_is_reported_and_new_credentials_recover(
    org: Org, db: Database, tmp_path: Path
) -> None:
    with postgres_db() as src_db:
        out = register(
            org,
            "xn_officer",
            kind="postgresql",
            name="库",
            config=src_db.config(),
            secret={"password": "pw"},
        )
        assert out.config["schema"] == "public"
        moved = org.settings.model_copy(update={"data_dir": tmp_path / "another-node"})
        other = Org(org.db, moved, org.dept, org.users)
        with other.as_("xn_officer").act() as ctx:
            result = actions.test_source(ctx, out.id)
            assert actions.get_source(ctx, out.id).secret_keys == ["?"]
        assert result.error_code == "source_secret_unreadable"
        with other.as_("xn_officer").act() as ctx:
            err = failure(lambda: actions.discover_source(ctx, out.id))
        assert (err.code, err.status) == ("source_secret_unreadable", 503)
        with other.as_("xn_officer").act() as ctx:
            actions.update_source(ctx, out.id, SourceUpdate(secret={"password": "new"}))
            assert actions.test_source(ctx, out.id).status == "ok"


# Scope ------------------------------------------------------------------------------------------


def test_scope_decides_who_sees_tests_and_previews(org: Org, db: Database) -> None:
    with postgres_db() as src_db:
        src_db.execute("CREATE TABLE people (id int PRIMARY KEY, name text)")
        src_db.execute("INSERT INTO people VALUES (1, '张三'), (2, '李四')")
        out = register(org, "xn_officer", kind="postgresql", name="库", config=src_db.config())
        sid = out.id

        def outcome(user: str, fn: Any) -> str:
            try:
                with org.as_(user).act() as ctx:
                    fn(ctx)
            except GovDataError as exc:
                return exc.code
            return "ok"

        def listed(user: str) -> list[str]:
            with org.as_(user).act() as ctx:
                return [s.id for s in actions.list_sources(ctx).items]

        get = lambda ctx: actions.get_source(ctx, sid)  # noqa: E731
        test = lambda ctx: actions.test_source(ctx, sid)  # noqa: E731
        preview = lambda ctx: actions.preview_source(ctx, sid, "people")  # noqa: E731
        propose = lambda ctx: actions.propose_items(ctx, sid, "people")  # noqa: E731
        discover = lambda ctx: actions.discover_source(ctx, sid)  # noqa: E731
        table = {
            # Own department's officer: everything.
            "xn_officer": (True, "ok", "ok", "ok", "ok"),
            # Another department's officer: the source does not exist for them.
            "hx_officer": (
                False,
                "source_not_found",
                "source_not_found",
                "source_not_found",
                "source_not_found",
            ),
            # The operator manages and tests every source but sees no rows.
            "operator": (True, "ok", "ok", "permission_denied", "permission_denied"),
            # Xining's region operator reads the region's sources; no tests, no rows.
            "xn_admin": (True, "ok", "permission_denied", "permission_denied", "permission_denied"),
            # Haixi's region operator does not see Xining's.
            "hx_admin": (
                False,
                "source_not_found",
                "source_not_found",
                "source_not_found",
                "source_not_found",
            ),
            # A department user holds no source.read at all.
            "xn_clerk": (
                None,
                "permission_denied",
                "permission_denied",
                "permission_denied",
                "permission_denied",
            ),
        }
        for user, (sees, got, tested, previewed, proposed) in table.items():
            if sees is None:
                assert outcome(user, actions.list_sources) == "permission_denied"
            else:
                assert (sid in listed(user)) is sees, user
            assert outcome(user, get) == got, user
            assert outcome(user, test) == tested, user
            assert outcome(user, discover) == tested, user
            assert outcome(user, preview) == previewed, user
            assert outcome(user, propose) == proposed, user
    previews = audit_rows(db, "source.preview")
    assert [(r["actor_name"], r["outcome"]) for r in previews] == [("xn_officer", "success")]
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT row_count FROM audit_records WHERE action = 'source.preview'"
        ).all()
    assert rows == [(2,)]
    assert {r["actor_name"] for r in audit_rows(db, "data.preview")} == {"operator", "xn_admin"}


def test_list_filters_searches_and_pages(org: Org, tmp_path: Path) -> None:
    path = sqlite_source(tmp_path)
    for name in ("户籍库", "低保库", "婚姻库"):
        register(org, "xn_officer", kind="sqlite", name=name, config={"path": path})
    register(org, "xn_officer", kind="file", name="上报文件")
    register(
        org,
        "operator",
        kind="file",
        name="海西文件",
        department_id=org.dept["hx_stats"],
    )
    with org.as_("operator").act() as ctx:
        assert actions.list_sources(ctx).total == 5
        assert actions.list_sources(ctx, kind=SourceKind.FILE).total == 2
        assert actions.list_sources(ctx, department_id=org.dept["hx_stats"]).total == 1
        assert [s.name for s in actions.list_sources(ctx, q="低保").items] == ["低保库"]
        first = actions.list_sources(ctx, limit=2)
        second = actions.list_sources(ctx, limit=2, cursor=first.next_cursor)
        third = actions.list_sources(ctx, limit=2, cursor=second.next_cursor)
        names = [s.name for s in first.items + second.items + third.items]
        assert len(names) == 5 == len(set(names)) and third.next_cursor is None
    with org.as_("xn_officer").act() as ctx:
        page = actions.list_sources(ctx)
        assert page.total == 4 and {s.department_code for s in page.items} == {"xn_stats"}
        actions.test_source(ctx, page.items[0].id)
    with org.as_("xn_officer").act() as ctx:
        assert actions.list_sources(ctx, status=SourceStatus.UNTESTED).total == 3


# Delete ------------------------------------------------------------------------------------------


def test_delete_is_refused_while_a_mount_uses_the_source(
    org: Org, db: Database, tmp_path: Path
) -> None:
    out = register(org, "xn_officer", kind="file", name="上报文件")
    with org.as_("xn_officer").act() as ctx:
        actions.upload_file(ctx, out.id, "a.csv", io.BytesIO(b"id,name\n1,x\n"))
    folder = registry.uploads_dir(org.settings, out.id)
    entry = published_entry(org, "xn_officer")
    with db.transaction() as s:
        s.add(
            Mount(
                entry_id=entry.id,
                department_id=org.dept["xn_stats"],
                source_id=out.id,
                mode="logical",
                target_kind="file",
                target="a.csv",
            )
        )
    with org.as_("xn_officer").act() as ctx:
        err = failure(lambda: actions.delete_source(ctx, out.id))
    assert (err.code, err.details["mounts"]) == ("source_in_use", 1)
    assert folder.is_dir()
    with db.transaction() as s:
        s.delete(s.scalars(select(Mount)).one())
    with org.as_("xn_officer").act() as ctx:
        actions.delete_source(ctx, out.id)
    assert not folder.exists()
    with org.as_("xn_officer").act() as ctx:
        assert failure(lambda: actions.get_source(ctx, out.id)).code == "source_not_found"
    assert [r["target_id"] for r in audit_rows(db, "source.delete")] == [out.id]


# Files ------------------------------------------------------------------------------------------


def test_upload_then_discover_and_preview_a_csv(org: Org, db: Database) -> None:
    out = register(org, "xn_officer", kind="file", name="上报文件")
    csv = "编号,姓名,身份证号\n1,张三,630102199001011234\n2,李四,630102198502023456\n"
    with org.as_("xn_officer").act() as ctx:
        up = actions.upload_file(ctx, out.id, "../../居民名单.csv", io.BytesIO(csv.encode("gbk")))
    assert (up.file_name, up.size, up.replaced) == ("居民名单.csv", len(csv.encode("gbk")), False)
    assert (registry.uploads_dir(org.settings, out.id) / "居民名单.csv").is_file()
    with org.as_("xn_officer").act() as ctx:
        found = actions.discover_source(ctx, out.id)
        [table] = found.tables
        assert table.name == "居民名单.csv"
        assert [c.name for c in table.columns] == ["编号", "姓名", "身份证号"]
        rows = actions.preview_source(ctx, out.id, "居民名单.csv")
    assert rows.rows[0][1:] == ["张三", "630102199001011234"]
    with org.as_("xn_officer").act() as ctx:
        again = actions.upload_file(ctx, out.id, "居民名单.csv", io.BytesIO(b"a\n1\n"))
    assert again.replaced
    [first, second] = audit_rows(db, "source.upload")
    assert first["details"]["sha256"] == up.sha256  # type: ignore[index]
    assert second["details"]["replaced"] is True  # type: ignore[index]


@pytest.mark.parametrize("name", [".hidden.csv", "run.exe", "a<b>.csv", "", "x" * 300 + ".csv"])
def test_unsafe_file_names_are_refused(org: Org, name: str) -> None:
    out = register(org, "xn_officer", kind="file", name="上报文件")
    with org.as_("xn_officer").act() as ctx:
        err = failure(lambda: actions.upload_file(ctx, out.id, name, io.BytesIO(b"a\n1\n")))
    assert err.code == "source_file_name_invalid"


def test_uploads_are_capped_and_leave_nothing_behind(org: Org, db: Database) -> None:
    small = org.settings.model_copy(update={"source_upload_max_mb": 1})
    capped = Org(org.db, small, org.dept, org.users)
    out = register(capped, "xn_officer", kind="file", name="上报文件")
    big = io.BytesIO(b"a,b\n" + b"1,2\n" * 300_000)
    with capped.as_("xn_officer").act() as ctx:
        err = failure(lambda: actions.upload_file(ctx, out.id, "big.csv", big))
    assert err.code == "source_file_too_large"
    assert list(registry.uploads_dir(small, out.id).iterdir()) == []
    assert audit_rows(db, "source.upload") == []
    path_source = register(
        org, "xn_officer", kind="sqlite", name="库", config={"path": "/tmp/none.db"}
    )
    with org.as_("xn_officer").act() as ctx:
        err = failure(lambda: actions.upload_file(ctx, path_source.id, "a.csv", io.BytesIO(b"")))
    assert err.code == "source_upload_unsupported"


def test_sqlite_source_discovers_and_previews(org: Org, tmp_path: Path, db: Database) -> None:
    out = register(
        org, "xn_officer", kind="sqlite", name="库", config={"path": sqlite_source(tmp_path, 30)}
    )
    with org.as_("xn_officer").act() as ctx:
        [table] = actions.discover_source(ctx, out.id).tables
        rows = actions.preview_source(ctx, out.id, "people", limit=5)
    assert (table.name, table.primary_key, table.row_estimate) == ("people", ["id"], 30)
    assert rows.row_count == 5 and rows.rows[0] == [1, "居民1", "西宁"]
    err = failure(lambda: registry.connection_params(org.settings, stored(db, out.id)))
    assert err.code == "source_kind_unsupported"
    with org.as_("xn_officer").act() as ctx:
        assert failure(lambda: actions.preview_source(ctx, out.id, "nope")).code == (
            "source_table_unknown"
        )


# HTTP sources: the sealed token and headers reach the server, nowhere else ------------------------


class _Api(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        ok = (
            self.headers.get("Authorization") == "Bearer tok-S3cret"
            and self.headers.get("X-App-Key") == "hdr-S3cret"
            and self.headers.get("Accept") == "application/json"
        )
        body = json.dumps({"items": [{"id": 1, "name": "张三"}]} if ok else {"error": "no"})
        self.send_response(200 if ok else 401)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: Any) -> None:
        return None


@contextmanager
def api_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_http_source_sends_its_sealed_token_and_headers(org: Org, db: Database) -> None:
    with api_server() as url:
        out = register(
            org,
            "xn_officer",
            kind="http",
            name="人口接口",
            config={
                "base_url": url,
                "endpoints": [{"name": "people", "path": "/people", "items_path": "items"}],
                "headers": {"Accept": "application/json"},
            },
            secret={"token": "tok-S3cret", "headers": {"X-App-Key": "hdr-S3cret"}},
        )
        with org.as_("xn_officer").act() as ctx:
            assert actions.test_source(ctx, out.id).status == "ok"
            assert actions.preview_source(ctx, out.id, "people").rows == [[1, "张三"]]
            actions.update_source(ctx, out.id, SourceUpdate(secret={"token": "tok-wrong"}))
            result = actions.test_source(ctx, out.id)
    assert result.error_code == "source_auth_failed"
    assert "S3cret" not in str(result.model_dump()) and "tok-wrong" not in str(result.model_dump())
    assert "S3cret" not in str(out.model_dump())
    assert "S3cret" not in str(audit_rows(db, "source.create") + audit_rows(db, "source.update"))
