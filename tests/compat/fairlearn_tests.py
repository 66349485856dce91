"""Where fairlearn's own MetricFrame test files come from (never committed here).

fairlearn's wheel and sdist ship no tests, so the files are fetched from fairlearn's
GitHub repository at the tag of the installed version (``v<version>``) on first use, and
kept in ethica's user cache directory (``<cache>/fairlearn-tests/<version>/test/...``).
``ETHICA_FAIRLEARN_TESTS`` may name a directory that already holds fairlearn's ``test/``
tree (for machines without network access; fill it once with
``git -C <fairlearn clone> archive v<version> test | tar x -C <dir>``).
"""

from __future__ import annotations

import io
import os
import tarfile
import urllib.request
from importlib.metadata import version
from pathlib import Path

import platformdirs

#: fairlearn test files that hold the MetricFrame tests (and the helpers they import).
TEST_FILES = (
    "test_metricframe_aggregates.py",
    "test_metricframe_bootstrap.py",
    "test_metricframe_by_group.py",
    "test_metricframe_comprehensive.py",
    "test_metricframe_missing.py",
    "test_metricframe_multiclass.py",
    "test_metricframe_nonscalar.py",
    "test_metricframe_overall.py",
    "test_metricframe_process_features.py",
    "test_metricframe_smoke.py",
    # fairlearn functions that build a MetricFrame internally (swapped for ethica's)
    "test_fairness_metrics.py",
    "test_make_derived_metric.py",
)
_SUPPORT = (
    "test/__init__.py",
    "test/conftest.py",
    "test/unit/__init__.py",
    "test/unit/conftest.py",
    "test/unit/input_convertors.py",
    "test/unit/metrics/__init__.py",
    "test/unit/metrics/data_for_test.py",
    "test/unit/metrics/utils.py",
)
_PYTEST_INI = """[pytest]
markers =
    narwhals: dataframe tests backed by Narwhals
    uncollect_if: deselect parametrisations
filterwarnings =
    error
"""


def fairlearn_version() -> str:
    """The installed fairlearn's version (the tag whose tests are used)."""
    return version("fairlearn")


def _wanted(name: str) -> bool:
    parts = name.split("/", 1)
    if len(parts) != 2:
        return False
    path = parts[1]
    return path in _SUPPORT or path in {f"test/unit/metrics/{f}" for f in TEST_FILES}


def _download(target: Path, tag: str) -> None:
    url = f"https://codeload.github.com/fairlearn/fairlearn/tar.gz/refs/tags/{tag}"
    with urllib.request.urlopen(url, timeout=120) as response:
        payload = response.read()
    partial = target.with_name(target.name + ".partial")
    with tarfile.open(fileobj=io.BytesIO(payload), mode="r:gz") as archive:
        for member in archive.getmembers():
            if member.isfile() and _wanted(member.name):
                relative = member.name.split("/", 1)[1]
                destination = partial / relative
                destination.parent.mkdir(parents=True, exist_ok=True)
                extracted = archive.extractfile(member)
                assert extracted is not None
                destination.write_bytes(extracted.read())
    partial.rename(target)


def fairlearn_test_root() -> Path:
    """A directory holding fairlearn's ``test/`` tree and a ``pytest.ini`` to run it.

    Raises
    ------
    RuntimeError
        If the files are neither in ``ETHICA_FAIRLEARN_TESTS``, nor cached, nor
        downloadable (the message says how to provide them).
    """
    given = os.environ.get("ETHICA_FAIRLEARN_TESTS")
    installed = fairlearn_version()
    root = (
        Path(given)
        if given
        else Path(platformdirs.user_cache_dir("ethica")) / "fairlearn-tests" / installed
    )
    if not (root / "test" / "unit" / "metrics").is_dir():
        if given:
            raise RuntimeError(
                f"ETHICA_FAIRLEARN_TESTS={given} holds no test/unit/metrics; fill it with "
                f"`git -C <fairlearn clone> archive v{installed} test | tar x -C {given}`."
            )
        root.parent.mkdir(parents=True, exist_ok=True)
        try:
            _download(root, f"v{installed}")
        except OSError as error:
            raise RuntimeError(
                f"could not fetch fairlearn {installed}'s tests from GitHub ({error}); set "
                "ETHICA_FAIRLEARN_TESTS to a directory holding fairlearn's test/ tree."
            ) from error
    (root / "pytest.ini").write_text(_PYTEST_INI)
    return root
