"""How ``make test`` shares the suite out between its pytest-xdist workers (``--dist loadfile``).

A unit of work is a test file, so that a file's module-scoped fixtures (a seeded store, an
app, a source database) are built once, as in a run without workers. The files of a folder
in ``TOGETHER`` make one unit: they read session-scoped builds too costly to make on each
worker (tests/demo: the demo sources and the demo built end to end). Units are handed out
longest first, so that no long unit starts last while the other worker idles: by the
seconds in ``SECONDS`` when a unit is there, else a second a test.

(pytest-xdist's own ``xdist_group`` mark is no help: it renames the test's node id, which
pytest 9 no longer lets it do.)
"""

from __future__ import annotations

from collections import OrderedDict

from xdist.scheduler import LoadScopeScheduling
from xdist.workermanage import WorkerController

TOGETHER = ("tests/demo/",)

# Seconds the longer units took in one run of the whole suite in one process (on a 2-core
# machine shared with other work, so the PostgreSQL-heavy ones weigh too much): only the
# order in which units start follows from them.
SECONDS: dict[str, float] = {
    # With its open-data stage the demo (built twice: the session build and the CLI test)
    # is the longest unit; measured 2026-12-06.
    "tests/demo/": 200,
    "tests/exchange/test_cdc_pipeline.py": 150,
    "tests/exchange/test_returnflow.py": 127,
    "tests/test_permission_matrix.py": 110,
    "tests/exchange/test_drift.py": 104,
    "tests/e2e/test_portal.py": 95,
    "tests/exchange/test_full_load.py": 80,
    "tests/exchange/test_logical.py": 78,
    "tests/exchange/test_report.py": 61,
    "tests/identity/test_login.py": 60,
    "tests/sharing/test_applications.py": 58,
    "tests/core/jobs/test_sigkill.py": 56,
    "tests/identity/test_users.py": 55,
    "tests/exchange/test_crash_cdc.py": 55,
    "tests/sharing/test_dataapi.py": 55,
    "tests/exchange/test_crash.py": 54,
    "tests/web/test_sharing_pages.py": 48,
    "tests/catalog/test_workflow.py": 47,
    "tests/exchange/test_pipelines.py": 46,
    "tests/opendata/test_dcat.py": 39,
    "tests/security/test_ledger.py": 37,
    "tests/opendata/test_downloads.py": 30,
    "tests/core/jobs/test_queue.py": 34,
    "tests/sources/test_actions.py": 34,
    "tests/e2e/test_sharing_flow.py": 30,
    "tests/sharing/test_subscriptions.py": 30,
    "tests/e2e/test_catalog_flow.py": 29,
    "tests/web/test_pages.py": 28,
    "tests/exchange/test_mounts.py": 28,
    "tests/exchange/test_runs.py": 28,
    "tests/exchange/test_incremental.py": 28,
    "tests/e2e/test_exchange_flow.py": 27,
    "tests/security/test_ledger_api.py": 27,
    "tests/test_api_schema.py": 27,
    "tests/catalog/test_standards.py": 25,
    "tests/security/test_lake_encryption.py": 25,
    "tests/identity/test_api.py": 23,
    "tests/security/test_anomaly.py": 22,
    "tests/security/test_discovery.py": 22,
    "tests/security/test_hardening.py": 21,
    "tests/web/test_exchange_pages.py": 20,
    "tests/web/test_session.py": 19,
    "tests/web/test_catalog_pages.py": 18,
    "tests/core/jobs/test_api.py": 17,
    "tests/catalog/test_bulk.py": 16,
    "tests/catalog/test_national.py": 16,
    "tests/exchange/test_cdc_mysql.py": 15,
    "tests/web/test_subscription_pages.py": 15,
    "tests/catalog/test_reference_data.py": 15,
}


class FileScheduling(LoadScopeScheduling):
    """Whole files (or folders in TOGETHER) to each worker, longest first."""

    _ordered = False

    def _split_scope(self, nodeid: str) -> str:
        path = nodeid.split("::", 1)[0]
        for folder in TOGETHER:
            if path.startswith(folder):
                return folder
        return path

    def _assign_work_unit(self, node: WorkerController) -> None:
        # The queue is complete before the first unit goes out: order it then, once.
        if not self._ordered:
            self.workqueue = OrderedDict(
                sorted(self.workqueue.items(), key=lambda unit: -_seconds(*unit))
            )
            self._ordered = True
        super()._assign_work_unit(node)


def _seconds(unit: str, tests: dict[str, bool]) -> float:
    return SECONDS.get(unit, float(len(tests)))
