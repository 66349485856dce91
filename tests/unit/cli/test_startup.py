"""``ethica --help`` stays fast: importing the command line loads no learning stack."""

from __future__ import annotations

import json
import subprocess
import sys


def _modules_after(statement: str) -> set[str]:
    code = f"import json, sys; {statement}; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_importing_the_cli_loads_no_scikit_learn() -> None:
    loaded = _modules_after("import ethica.cli")
    assert "ethica.cli._audit" in loaded and "ethica.cli._frontier" in loaded
    assert not {m for m in loaded if m == "sklearn" or m.startswith("sklearn.")}


def test_importing_the_cli_loads_no_data_stack() -> None:
    """Every command module loads, and none of NumPy, pandas, Ibis, SciPy or FastAPI does."""
    loaded = _modules_after("import ethica.cli")
    assert {"ethica.cli._stream", "ethica.cli._synth", "ethica.cli._serve"} <= loaded
    heavy = {"numpy", "pandas", "ibis", "scipy", "fastapi", "duckdb", "altair"}
    assert not heavy & loaded


def test_the_cli_offers_the_librarys_stream_mechanisms() -> None:
    from ethica.cli._stream import MECHANISMS as offered
    from ethica.privacy.stream import MECHANISMS

    assert offered == MECHANISMS


def test_every_public_privacy_name_resolves() -> None:
    import ethica.privacy as privacy

    for name in privacy.__all__:
        value = getattr(privacy, name)
        assert getattr(value, "__name__", name) == name or name == "Budget"


def test_ethica_fairness_loads_its_parts_on_first_use() -> None:
    loaded = _modules_after("import ethica.fairness")
    assert "sklearn" not in loaded and "ethica.fairness._audit" not in loaded
    loaded = _modules_after("from ethica.fairness import audit, AuditResult")
    assert "ethica.fairness._audit" in loaded and "sklearn" not in loaded
    loaded = _modules_after("from ethica.fairness import ExponentiatedGradient")
    assert "sklearn" in loaded


def test_every_public_fairness_name_resolves() -> None:
    import ethica.fairness as fairness

    for name in fairness.__all__:
        assert getattr(fairness, name).__name__ == name
    assert set(fairness.__all__) <= set(dir(fairness))


def test_every_command_that_shows_a_result_takes_json() -> None:
    import typer.main

    from ethica.cli import app

    root = typer.main.get_command(app)
    commands = {
        ("audit",): root.commands["audit"],  # type: ignore[attr-defined]
        ("frontier",): root.commands["frontier"],  # type: ignore[attr-defined]
        ("proxies",): root.commands["proxies"],  # type: ignore[attr-defined]
        ("attack", "membership"): root.commands["attack"].commands["membership"],  # type: ignore[attr-defined]
    }
    for path, command in commands.items():
        options = {opt for param in command.params for opt in param.opts}
        assert {"--json", "--html"} <= options, path
