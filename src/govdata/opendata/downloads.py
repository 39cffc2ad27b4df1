"""Open-data files: CSV, XLSX and JSON of a dataset's open fields, made from its lake table
as of one version, cached on disk and handed out by path (the web layer streams the file).

A file is named by the lake version and a hash of the fields it holds, so the same version
and fields are made once and then reused; a new collection run (a new version) or a change
of the open fields makes a new file. Files are written to a temporary name and renamed into
place: a crash or a concurrent download never leaves or serves a partial file.

The data is read in Arrow batches and written batch by batch, so memory stays bounded
whatever the table's size.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime
from datetime import time as dtime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlalchemy.orm import Session

from govdata.catalog.models import CatalogEntry
from govdata.config import Settings
from govdata.core.db import Database
from govdata.core.errors import InvalidInput, NotFound, PermissionDenied
from govdata.core.xlsx import cell_safe
from govdata.lake.tables import Lake
from govdata.opendata import grants, usage
from govdata.opendata.access import OpenField, lake_mount, open_fields, public_dataset
from govdata.opendata.models import OpenDataset
from govdata.opendata.vocab import UsageKind
from govdata.security.audit import DENIED, write_audit
from govdata.security.context import Caller

FORMATS = ("csv", "xlsx", "json")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}
# Excel's sheet holds 1,048,576 rows; one is the header.
XLSX_MAX_ROWS = 1_048_575
BATCH_ROWS = 131_072
AUDIT_TARGET = "open_dataset"
_BOM = "\ufeff".encode()
# Temporary files older than this are leftovers of a crashed writer.
_STALE_TMP_SECONDS = 3600


@dataclass(frozen=True)
class Source:
    """What a file is made from: a public dataset's lake table, version and open fields."""

    dataset: OpenDataset
    entry: CatalogEntry
    table: str
    version: int
    fields: list[OpenField]

    @property
    def columns(self) -> list[str]:
        return [f.field for f in self.fields]


@dataclass(frozen=True)
class DownloadFile:
    """A file ready to hand out: stream ``path``; never read it whole."""

    path: Path
    format: str
    filename: str  # ``<title>-v<version>.<fmt>`` (may be Chinese)
    ascii_filename: str  # ``<name>-v<version>.<fmt>``, for old clients
    media_type: str
    etag: str
    rows: int
    version: int
    fields: list[str]
    cached: bool  # served from the cache (False: made by this request)
    # The caller already holds this very file (its If-None-Match named the ETag): nothing
    # is handed out, counted or audited.
    not_modified: bool = False


def access_required(name: str) -> PermissionDenied:
    return PermissionDenied(
        "该数据集为有条件开放，请先在数据集页面提交开放申请，获批后方可获取数据",
        "This dataset is conditionally open: apply for access on its page; data is available "
        "once the application is approved",
        code="opendata_access_required",
        details={"dataset": name, "apply": f"/open/datasets/{name}/apply"},
    )


def _bad_format(fmt: str) -> NotFound:
    return NotFound(
        "不支持的下载格式",
        "Unsupported download format",
        code="opendata_format_unknown",
        details={"format": fmt, "formats": list(FORMATS)},
    )


def fields_hash(columns: list[str]) -> str:
    return hashlib.sha256("\x1f".join(columns).encode()).hexdigest()[:16]


def cache_dir(settings: Settings, dataset_id: str) -> Path:
    return Path(settings.data_dir) / "opendata" / "cache" / dataset_id


def resolve(
    s: Session,
    settings: Settings,
    who: grants.PublicIdentity,
    ref: str,
    *,
    version: int | None = None,
) -> Source:
    """The public dataset ``ref`` as the caller may read it, at ``version`` (default: current).

    Not public → ``opendata_dataset_not_found``; conditional without an approved application
    → ``opendata_access_required`` (403); no lake data or no such version → 404.
    """
    ds, entry = public_dataset(s, ref)
    if not grants.may_read_data(s, who, ds, entry):
        raise access_required(ds.name)
    mount = lake_mount(s, entry.id)
    fields = open_fields(s, ds, entry)
    lake = Lake.from_settings(settings)
    if mount is None or not fields or not lake.exists(str(mount.lake_table)):
        raise NotFound(
            "该数据集暂无可下载的数据",
            "The dataset has no data to download yet",
            code="opendata_no_data",
            details={"dataset": ds.name},
        )
    table = str(mount.lake_table)
    # Opening at ``version`` checks it exists (``lake_version_not_found`` otherwise).
    current = lake.table(table, version).version()
    return Source(ds, entry, table, current, fields)


def _scan(settings: Settings, src: Source) -> pa.RecordBatchReader:
    return Lake.from_settings(settings).scan(
        src.table, columns=src.columns, version=src.version, batch_size=BATCH_ROWS
    )


def _row_count(settings: Settings, src: Source) -> int:
    return int(Lake.from_settings(settings).dataset(src.table, src.version).count_rows())


# -- writers ----------------------------------------------------------------------------


def _write_csv(reader: pa.RecordBatchReader, out: IO[bytes]) -> int:
    # The BOM lets Excel open UTF-8 as UTF-8; Arrow's writer does the rest in C++.
    out.write(_BOM)
    rows = 0
    with pacsv.CSVWriter(out, reader.schema) as writer:
        for batch in reader:
            writer.write_batch(batch)
            rows += batch.num_rows
    return rows


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date | dtime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _fallback(arr: pa.Array) -> pa.Array:
    encoder = json.JSONEncoder(ensure_ascii=False, default=_json_value)
    return pa.array(
        ["null" if v is None else encoder.encode(v) for v in arr.to_pylist()], pa.string()
    )


def _quoted(arr: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise('"', arr, '"', "")


def _json_literals(arr: pa.Array) -> pa.Array:
    """Each value of the column as a JSON literal (a string array without nulls).

    Arrow's string kernels do the work for the common types, so a batch costs a few
    vectorised passes instead of a Python object per cell; dates, times and decimals become
    strings (ISO 8601, exact digits). Anything else, and text with control characters
    (rare, and escaped the long way), goes through ``json`` value by value.
    """
    kind = arr.type
    if pa.types.is_dictionary(kind):
        arr = arr.cast(kind.value_type)
        kind = arr.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        if pc.any(pc.match_substring_regex(arr, "[\\x00-\\x1f]")).as_py():
            return _fallback(arr)
        escaped = pc.replace_substring(pc.replace_substring(arr, "\\", "\\\\"), '"', '\\"')
        out = _quoted(escaped)
    elif pa.types.is_integer(kind) or pa.types.is_boolean(kind):
        out = arr.cast(pa.string())
    elif pa.types.is_floating(kind):
        # NaN and infinities are not JSON: null instead.
        out = pc.if_else(pc.is_finite(arr), arr.cast(pa.string()), pa.scalar(None, pa.string()))
    elif pa.types.is_timestamp(kind):
        tz = "%Ez" if kind.tz else ""
        out = _quoted(pc.strftime(arr, format="%Y-%m-%dT%H:%M:%S" + tz))
    elif pa.types.is_date(kind) or pa.types.is_time(kind) or pa.types.is_decimal(kind):
        out = _quoted(arr.cast(pa.string()))
    else:
        return _fallback(arr)
    return pc.fill_null(out, "null")


def _json_rows(batch: pa.RecordBatch) -> str:
    parts: list[Any] = []
    for i, name in enumerate(batch.schema.names):
        key = json.dumps(name, ensure_ascii=False)
        parts += [("{" if i == 0 else ",") + key + ":", _json_literals(batch.column(i))]
    parts.append("}")
    objects = pc.binary_join_element_wise(*parts, "")
    one_list = pa.ListArray.from_arrays(pa.array([0, len(objects)], pa.int32()), objects)
    return str(pc.binary_join(one_list, ",\n")[0].as_py())


def _write_json(reader: pa.RecordBatchReader, out: IO[bytes]) -> int:
    rows = 0
    out.write(b"[")
    for batch in reader:
        if batch.num_rows == 0 or batch.num_columns == 0:
            continue
        out.write((",\n" if rows else "\n").encode() + _json_rows(batch).encode())
        rows += batch.num_rows
    out.write(b"\n]\n")
    return rows


def _xlsx_value(ws: WriteOnlyWorksheet, value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        # Excel has no time zones: show the instant in local time, as the portal does.
        return value.astimezone().replace(tzinfo=None)
    if isinstance(value, str):
        value = cell_safe(value)
        if value.startswith("="):
            # Data, never a formula: a cell typed as text stays text in Excel.
            cell = WriteOnlyCell(ws, value=value)
            cell.data_type = "s"
            return cell
        return value
    if isinstance(value, bytes):
        return value.hex()
    return value


def _write_xlsx(reader: pa.RecordBatchReader, out: IO[bytes]) -> int:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("data")
    ws.append(list(reader.schema.names))
    rows = 0
    for batch in reader:
        for row in batch.to_pylist():
            ws.append([_xlsx_value(ws, v) for v in row.values()])
        rows += batch.num_rows
    wb.save(out)  # type: ignore[arg-type]
    return rows


WRITERS: dict[str, Callable[[pa.RecordBatchReader, IO[bytes]], int]] = {
    "csv": _write_csv,
    "json": _write_json,
    "xlsx": _write_xlsx,
}


# -- the cache --------------------------------------------------------------------------


def _cache_path(settings: Settings, src: Source, fmt: str) -> Path:
    return cache_dir(settings, src.dataset.id) / f"{src.version}-{fields_hash(src.columns)}.{fmt}"


def _meta_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def _cached_rows(path: Path) -> int | None:
    if not path.exists():
        return None
    try:
        return int(json.loads(_meta_path(path).read_text())["rows"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


@contextlib.contextmanager
def _atomic(path: Path) -> Iterator[IO[bytes]]:
    """A file written under a temporary name and renamed to ``path`` only when complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix="." + path.name)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def build_file(settings: Settings, src: Source, fmt: str) -> tuple[Path, int, bool]:
    """(path, rows, cached): the cached file of ``src`` in ``fmt``, made if missing."""
    path = _cache_path(settings, src, fmt)
    rows = _cached_rows(path)
    if rows is not None:
        return path, rows, True
    if fmt == "xlsx":
        total = _row_count(settings, src)
        if total > XLSX_MAX_ROWS:
            raise InvalidInput(
                f"数据共 {total} 行，超过 Excel 的行数上限（{XLSX_MAX_ROWS} 行），请下载 CSV 格式",
                f"The data has {total} rows, more than Excel holds ({XLSX_MAX_ROWS}); "
                "download the CSV instead",
                code="opendata_xlsx_too_large",
                details={"rows": total, "limit": XLSX_MAX_ROWS, "use": "csv"},
            )
    with _atomic(path) as out:
        rows = WRITERS[fmt](_scan(settings, src), out)
    # The row count is written after the file: a file without it is made again, never
    # served with a wrong count.
    with _atomic(_meta_path(path)) as meta:
        meta.write(json.dumps({"rows": rows, "fields": src.columns}).encode())
    return path, rows, False


def prune_cache(settings: Settings, dataset_id: str, keep_version: int) -> list[Path]:
    """Remove the dataset's files of versions older than ``keep_version`` and stale temps.

    A file being streamed stays readable after unlink (the open handle keeps it); a later
    request for an old version makes it again.
    """
    folder = cache_dir(settings, dataset_id)
    if not folder.is_dir():
        return []
    removed = []
    for path in folder.iterdir():
        name = path.name
        if name.startswith(".tmp-"):
            stale = time.time() - path.stat().st_mtime > _STALE_TMP_SECONDS
        else:
            head = name.split("-", 1)[0]
            stale = head.isdigit() and int(head) < keep_version
        if stale:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            removed.append(path)
    return removed


# -- the action -------------------------------------------------------------------------


def _safe_title(title: str) -> str:
    return "".join("_" if c in '\\/:*?"<>|\r\n\t' else c for c in title).strip() or "data"


def audit_denied(
    db: Database, who: grants.PublicIdentity, ref: str, action: str, client_addr: str | None
) -> None:
    with db.transaction() as s:
        write_audit(
            s,
            who.actor,
            action,
            target_type=AUDIT_TARGET,
            target_id=ref,
            outcome=DENIED,
            client_addr=client_addr,
            details={"code": "opendata_access_required", "key_id": who.key_id},
        )


def download(
    db: Database,
    settings: Settings,
    who: grants.PublicIdentity,
    ref: str,
    fmt: str,
    *,
    version: int | None = None,
    client_addr: str | None = None,
    if_none_match: str | None = None,
    count: bool = True,
) -> DownloadFile:
    """Hand out a file of an open dataset: resolve and authorize, make (or reuse) the file,
    then count the download against the quota and the usage statistics and audit it.

    The file is made outside the counting transaction: on SQLite that transaction holds
    the write lock, which must not wait on writing a large file. ``count=False`` only makes
    the file again (for a caller already counted whose file a newer version pruned).
    """
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise _bad_format(fmt)
    with db.sessions() as s:
        try:
            src = resolve(s, settings, who, ref, version=version)
        except PermissionDenied:
            audit_denied(db, who, ref, "opendata.data.download", client_addr)
            raise
    stem = f"-v{src.version}.{fmt}"
    etag = f'"{src.version}-{fields_hash(src.columns)}-{fmt}"'
    answer = DownloadFile(
        path=_cache_path(settings, src, fmt),
        format=fmt,
        filename=_safe_title(src.entry.name) + stem,
        ascii_filename=src.dataset.name + stem,
        media_type=MEDIA_TYPES[fmt],
        etag=etag,
        rows=0,
        version=src.version,
        fields=src.columns,
        cached=True,
    )
    if if_none_match and etag in {t.strip() for t in if_none_match.split(",")}:
        return replace(answer, not_modified=True)
    try:
        path, rows, cached = build_file(settings, src, fmt)
    except (OSError, pa.ArrowException) as exc:
        if version is None:
            raise
        # An old version whose files a vacuum removed: the log still names it, the data is gone.
        raise NotFound(
            f"数据版本 {version} 的文件已清理，无法再下载",
            f"The files of data version {version} were cleaned up; it can no longer be downloaded",
            code="opendata_version_unavailable",
            details={"dataset": src.dataset.name, "version": version},
        ) from exc
    if not count:
        return replace(answer, path=path, rows=rows, cached=cached)
    with Caller(db, settings, who.actor, client_addr).act() as ctx:
        grants.consume(ctx.session, settings, who, client_addr)
        usage.record_usage(
            ctx.session, src.dataset.id, src.entry.provider_department_id, UsageKind.DOWNLOAD
        )
        ctx.audit(
            "opendata.data.download",
            target_type=AUDIT_TARGET,
            target_id=src.dataset.id,
            fields=src.columns,
            row_count=rows,
            details={
                "format": fmt,
                "lake_table": src.table,
                "lake_version": src.version,
                "cached": cached,
                "key_id": who.key_id,
            },
        )
    if not cached and version is None:
        prune_cache(settings, src.dataset.id, src.version)
    return replace(answer, path=path, rows=rows, cached=cached)
