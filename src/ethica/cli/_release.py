"""``ethica release SPEC.yaml`` and ``ethica plan``: publish DP statistics, and plan a budget."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from ethica._exceptions import (
    BudgetExceededError,
    DataSourceError,
    InvalidParameterError,
    LedgerError,
    ReleaseFailedError,
)
from ethica.cli._app import app, console
from ethica.cli._budget import budget_options, show_budget, show_unit
from ethica.cli._options import parse_list
from ethica.cli._output import (
    JsonOption,
    emit,
    json_text,
    render_page,
    say_written,
    write_atomically,
    write_text_atomically,
)
from ethica.cli._progress import working

if TYPE_CHECKING:
    from ethica.privacy import Batch, Budget, Ledger, Release, ReleasedTable, Session
    from ethica.privacy.release._sensitivity import PrivacyUnit

_TARGET = re.compile(
    r"^\s*(?:±|\+-|\+/-)?\s*([0-9]*\.?[0-9]+)\s*(?:at\s*([0-9]*\.?[0-9]+)\s*%)?\s*$"
)
_DEFAULT_EPSILONS = "0.01,0.02,0.05,0.1,0.2,0.5,1,2,5"


def parse_target(text: str, confidence: float) -> tuple[float, float]:
    """``"±25 at 95%"`` -> ``(25.0, 0.95)``; ``"25"`` keeps ``confidence``."""
    match = _TARGET.match(text)
    if match is None:
        raise InvalidParameterError(
            f"--target {text!r} is not an error target; write e.g. --target '±25 at 95%' "
            "or --target 25 --confidence 0.95."
        )
    level = float(match.group(2)) / 100 if match.group(2) else confidence
    return float(match.group(1)), level


@app.command()
def plan(
    target: Annotated[str, typer.Option(help="Error target, e.g. '±25 at 95%'.")] = "±25 at 95%",
    statistic: Annotated[str, typer.Option(help="count or sum.")] = "count",
    bound: Annotated[
        float | None, typer.Option(help="For a sum: max(|lower|, |upper|) of the clamp.")
    ] = None,
    confidence: Annotated[float, typer.Option(help="Confidence level.")] = 0.95,
    kind: Annotated[str, typer.Option(help="pure (Laplace) or zcdp (Gaussian).")] = "pure",
    max_groups: Annotated[int, typer.Option(help="User-level: groups per user (L0).")] = 1,
    max_rows: Annotated[int, typer.Option(help="User-level: rows per group (L∞).")] = 1,
    epsilons: Annotated[
        str, typer.Option(help="Budgets for the error table (epsilon or rho), comma-separated.")
    ] = _DEFAULT_EPSILONS,
    figure: Annotated[
        Path | None, typer.Option(help="Write the error-vs-budget curve as SVG.")
    ] = None,
    json_path: JsonOption = None,
) -> None:
    """The budget a query needs for an error target, and its error-vs-budget table.

    The sensitivity is the one a release of the same query would have
    (:func:`ethica.privacy.release._plan.plan_sensitivity`): a count, or a sum clamped to
    ``[0, bound]`` on its default grid of ``bound / 1000``.
    """
    from ethica.privacy import ZCDP, Count, PureDP, Rows, Sum, UserLevel, error_table, plan_budget
    from ethica.privacy.release._plan import PlannedBudget, plan_sensitivity

    half_width, level = parse_target(target, confidence)
    types: dict[str, PlannedBudget] = {"pure": PureDP, "zcdp": ZCDP}
    if kind not in types:
        raise InvalidParameterError(f"--kind must be pure or zcdp, got {kind!r}.")
    budget_type = types[kind]
    if statistic not in ("count", "sum"):
        raise InvalidParameterError(f"--statistic must be count or sum, got {statistic!r}.")
    by = ("cell",) if max_groups > 1 else ()
    query: Count | Sum
    if statistic == "sum":
        if bound is None or not bound > 0:
            raise InvalidParameterError(
                "--statistic sum needs --bound B > 0, the clamp max(|lower|, |upper|)."
            )
        query = Sum("value", 0, bound, by=by)
    else:
        query = Count(by=by)
    unit = (
        Rows()
        if max_groups == max_rows == 1
        else UserLevel("user", max_groups_per_user=max_groups, max_rows_per_group=max_rows)
    )
    planned = plan_sensitivity(query, unit)
    l1, l2_squared = planned.sensitivity.l1, planned.sensitivity.l2_squared
    unit_value = float(planned.grid)
    budget = plan_budget(l1, l2_squared, half_width / unit_value, level, budget_type)
    values = [Fraction(v) for v in parse_list([epsilons])]
    rows = [
        {**row, "half_width": row["half_width"] * unit_value}
        for row in error_table(l1, l2_squared, values, level, budget_type)
    ]
    out = {
        "target": half_width,
        "confidence": level,
        "budget": budget.to_dict(),
        "sensitivity": planned.sensitivity.to_dict(),
        "grid": str(planned.grid),
        "curve": rows,
    }
    axis = budget_type._fields[0]
    if figure is not None:
        _plan_figure(rows, figure, axis)

    def show() -> None:
        approximately = ", ".join(f"{n} ≈ {float(getattr(budget, n)):.6g}" for n in budget._fields)
        console.print(
            f"±{half_width:g} at {100 * level:g}% needs [bold]{budget}[/] ({approximately}; "
            f"{statistic}, L1 sensitivity {float(l1 * planned.grid):g})",
            highlight=False,
        )
        table = Table(title="Error vs budget", title_justify="left")
        table.add_column(axis)
        table.add_column(f"± at {100 * level:g}%")
        for row in rows:
            table.add_row(f"{row[axis]:g}", f"{row['half_width']:,.6g}")
        console.print(table)

    emit(
        out,
        json_path=json_path,
        show=show,
        written=[] if figure is None else [("figure", figure)],
    )


def _plan_figure(rows: list[dict[str, float]], path: Path, axis: str) -> None:
    import pandas as pd

    from ethica.report._figures import chart_to_svg, line_chart

    chart = line_chart(
        pd.DataFrame(rows),
        x=axis,
        y="half_width",
        x_log=True,
        y_log=True,
        y_title="CI half-width",
    )
    write_text_atomically(path, chart_to_svg(chart))


@app.command()
def release(
    spec: Annotated[Path, typer.Argument(help="YAML spec: source, privacy unit, budget, queries.")],
    out: Annotated[Path, typer.Option(help="Output directory.")] = Path("release"),
    dataset: Annotated[
        str | None,
        typer.Option(
            "--dataset",
            help="Registered dataset whose budget pays (default: the spec's dataset:). "
            "Register it first with `ethica budget create`.",
        ),
    ] = None,
    ledger: Annotated[
        Path | None,
        typer.Option(
            help="Budget ledger file (default: the spec's ledger, else $ETHICA_LEDGER, else "
            "the user data directory)."
        ),
    ] = None,
    bounding_share: Annotated[
        str | None,
        typer.Option(
            "--bounding-share",
            help="Share of the budget (e.g. 1/10) spent on a DP report of what contribution "
            "caps and clamping did (default: the spec's bounding_share:, else none).",
        ),
    ] = None,
) -> None:
    """Release the spec's queries with DP: tables (CSV/Parquet), JSON metadata, HTML report.

    Everything that can be checked without the data is checked first and costs nothing: the
    spec, the registered dataset (its budget kind and privacy unit), the output directory,
    the queries against the schema. Then the budget is charged to the ledger, the data is
    read and the noise drawn; the charge is marked released only once every file is written.
    If writing fails after that, the noisy results stay in the ledger (`ethica budget
    history DATASET --json`).
    """
    from ethica.privacy import Ledger, Session
    from ethica.privacy.release._spec import parse_spec, type_keys_from_schema

    if not spec.is_file():
        raise DataSourceError(f"spec file not found: {str(spec)!r}; check the path.")
    parsed = parse_spec(spec.read_text(encoding="utf-8"), name=str(spec))
    name = _dataset_name(parsed.dataset, dataset, spec)
    report_share = _bounding_share(parsed.bounding_share, bounding_share, spec)
    targets = _targets(parsed.batch.names or (), parsed.format, out)
    check_output_dir(out, targets)
    source = parsed.source_in(spec.parent)
    with Ledger(ledger or (spec.parent / parsed.ledger if parsed.ledger else None)) as book:
        _check_registered(book, name, parsed.budget, parsed.privacy_unit)
        session = Session(
            source,
            privacy_unit=parsed.privacy_unit,
            budget=parsed.budget,
            ledger=book,
            dataset=name,
            confidence=parsed.confidence,
            table=parsed.table,
        )
        batch = type_keys_from_schema(parsed.batch, session.schema)  # the release's schema
        result = _evaluate(session, batch, parsed.budget, name, report_share)
        try:
            published = _post_process(result, parsed.consistent)
            written = write_release(published, out, parsed.format, parsed.title)
        except BaseException as error:
            session.fail(result, f"outputs not written: {type(error).__name__}")
            if not isinstance(error, Exception):
                raise
            step = "making it consistent or writing it" if parsed.consistent else "writing it"
            raise ReleaseFailedError(
                f"the release was charged and its noise drawn, but {step} to {out} failed "
                f"({type(error).__name__}: {error}). The charge stands (status 'failed') and "
                f"the noisy results are kept in the ledger: {_recovery(book, name, result)}."
            ) from error
        session.complete(result)
    console.print(
        f"released {len(published.tables)} table(s) of {name!r} under "
        f"{show_budget(published.budget)}",
        highlight=False,
    )
    for line in bounding_lines(published):
        console.print(line, highlight=False)
    for kind, path in written:
        say_written(kind, path)


def _bounding_share(
    in_spec: Fraction | None, on_command_line: str | None, spec: Path
) -> Fraction | None:
    """The bounding report's share: the spec's ``bounding_share:`` or ``--bounding-share``."""
    from ethica.privacy.release._spec import parse_exact

    if on_command_line is None:
        return in_spec
    flag = parse_exact(on_command_line)
    if flag is None or not 0 < flag < 1:
        raise InvalidParameterError(
            f"--bounding-share must be a fraction strictly between 0 and 1, got "
            f"{on_command_line!r}; write e.g. --bounding-share 1/10 or 0.1."
        )
    if in_spec is not None and in_spec != flag:
        raise InvalidParameterError(
            f"{spec} says bounding_share: {in_spec} but --bounding-share says {flag}; a "
            "release has one bounding report. Drop one of them."
        )
    return flag


def bounding_lines(result: Release) -> list[str]:
    """One console line per table whose notes carry a released bounding report."""

    def interval(entry: dict[str, object]) -> str:
        return f"{entry['value']} [{entry['ci_low']}, {entry['ci_high']}]"

    lines = []
    for table in result.tables:
        parts = []
        users = table.notes.get("users_capped")
        if isinstance(users, dict):
            parts.append(f"users capped {interval(users)}")
        clamped = table.notes.get("values_clamped")
        if isinstance(clamped, dict):
            parts.append(
                f"values clamped below {interval(clamped['below'])}, "
                f"above {interval(clamped['above'])}"
            )
        if parts:
            lines.append(f"bounding report, {table.name}: {'; '.join(parts)}")
    if lines:
        level = f"{100 * result.confidence:g}%"
        lines.insert(0, f"what bounding did (noisy counts, {level} intervals; details in notes):")
    return lines


def _dataset_name(in_spec: str | None, on_command_line: str | None, spec: Path) -> str:
    """The registered dataset that pays: the spec's ``dataset:`` or ``--dataset`` (one name)."""
    if in_spec is not None and on_command_line is not None and in_spec != on_command_line:
        raise InvalidParameterError(
            f"{spec} names dataset {in_spec!r} but --dataset says {on_command_line!r}; a "
            "release is charged to one dataset. Drop one of them."
        )
    name = on_command_line if on_command_line is not None else in_spec
    if not name:
        raise InvalidParameterError(
            f"{spec} does not say which dataset's budget pays: add `dataset: NAME` to the spec "
            "or pass --dataset NAME, after registering it once with `ethica budget create NAME "
            "--epsilon E --privacy-unit rows|user:COLUMN`."
        )
    return name


def _check_registered(book: Ledger, name: str, budget: Budget, unit: PrivacyUnit) -> None:
    """Refuse (free, one line) a dataset that is not registered, has no recorded unit, or
    holds another budget kind (the session refuses another unit)."""
    unit_option = show_unit(unit.to_dict())
    if not book.has_dataset(name):
        raise LedgerError(
            f"dataset {name!r} is not registered in the ledger {book.path}; nothing creates a "
            f"budget implicitly. Register it once with `ethica budget create {name} "
            f"{budget_options(budget)} --privacy-unit {unit_option}` (choose the total "
            "budget for every release of this data), then release again."
        )
    status = book.status(name)
    if status.privacy_unit is None:
        raise LedgerError(
            f"dataset {name!r} was registered before privacy units were recorded; record its "
            f"unit once with `ethica budget set-unit {name} --privacy-unit "
            f"{unit_option}` (if that is who its budget protects), then release again."
        )
    total = status.total
    if type(total) is not type(budget):
        raise InvalidParameterError(
            f"dataset {name!r} holds a {type(total).__name__} budget ({show_budget(total)}) but "
            f"the spec spends {type(budget).__name__} ({show_budget(budget)}); write the spec's "
            f"budget as {type(total).__name__}, e.g. budget: {{{', '.join(total._fields)}: ...}}."
        )


def _evaluate(
    session: Session,
    batch: Batch,
    budget: Budget,
    name: str,
    bounding_share: Fraction | None = None,
) -> Release:
    """Reserve, read, noise; a refusal for budget shows exact numbers (never rounded up)."""
    try:
        with working("Aggregating in the engine and adding noise"):
            return session.evaluate(batch, budget, complete=False, bounding_share=bounding_share)
    except BudgetExceededError as error:
        raise BudgetExceededError(
            f"the release asks for {_show(error.requested)} but {name!r} has only "
            f"{_show(error.remaining)} left; nothing was released and nothing was "
            "charged. Spend less (more noise) or release less.",
            requested=error.requested,
            remaining=error.remaining,
        ) from None


def _show(value: object) -> str:
    from ethica.privacy.budget import Budget

    return show_budget(value) if isinstance(value, Budget) else str(value)


def _post_process(result: Release, consistent: bool) -> Release:
    from ethica.privacy import make_consistent

    return make_consistent(result) if consistent else result


def _recovery(book: Ledger, name: str, result: Release) -> str:
    """Where the noisy results of a charged, unwritten release are: its ledger record."""
    from ethica.privacy import output_hash

    digest = output_hash(result.to_dict())
    ids = [r.id for r in book.history(name) if r.output_hash == digest]
    charge = f"charge {ids[-1]}" if ids else "its last failed charge"
    return (
        f"run `ethica budget history {name} --json --ledger {book.path}` and take the "
        f"'output' of {charge}"
    )


def _targets(names: Sequence[str], fmt: str, out: Path) -> list[Path]:
    tables = [out / f"{_file_name(n, i)}.{fmt}" for i, n in enumerate(names, start=1)]
    return [*tables, out / "release.json", out / "report.html"]


def check_output_dir(out: Path, targets: Sequence[Path]) -> None:
    """Refuse (before any charge) an output directory that cannot take the release.

    ``out`` must be a directory or not exist yet, its nearest existing ancestor a writable
    directory (probed by creating and removing a temporary file, so it holds for root and
    read-only file systems too), and no output file may be an existing directory.
    """
    if out.exists() and not out.is_dir():
        raise InvalidParameterError(
            f"--out {out} is an existing file, not a directory; the release writes several "
            "files into a directory. Give a directory path (it is created if needed)."
        )
    if out.is_symlink() and not out.is_dir():
        raise InvalidParameterError(
            f"--out {out} is a symbolic link to {out.readlink()}, which is not a directory; "
            "point --out at a directory (or remove the dangling link)."
        )
    existing = out
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise InvalidParameterError(
            f"--out {out} cannot be created: {existing} is a file, not a directory."
        )
    try:
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".ethica-probe-"):
            pass
    except OSError as error:
        raise InvalidParameterError(
            f"--out {out} is not writable ({existing}: {error.strerror or error}); choose a "
            "directory you can write to."
        ) from None
    for path in targets:
        if path.is_dir():
            raise InvalidParameterError(
                f"the release would write {path}, but that is a directory; remove it or "
                "choose another --out."
            )


def _file_name(name: str, index: int) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").lower()
    return f"{index:02d}_{slug or 'table'}"


def _write_table(table: ReleasedTable, path: Path, fmt: str) -> None:
    frame = table.to_frame()
    if fmt == "parquet":
        by_as_text = frame.astype({c: str for c in table.by})
        write_atomically(path, lambda temporary: by_as_text.to_parquet(temporary, index=False))
    else:
        write_atomically(path, lambda temporary: frame.to_csv(temporary, index=False))


def write_release(result: Release, out: Path, fmt: str, title: str) -> list[tuple[str, Path]]:
    """Write every table, the JSON metadata and the HTML report into ``out``.

    Returns what was written, as (kind, path) pairs. The page is drawn before any file is
    written, and each file is written atomically.
    """
    from ethica.report._release_section import release_section

    page = render_page(title, [release_section(result)])
    written = []
    for i, table in enumerate(result.tables, start=1):
        path = out / f"{_file_name(table.name, i)}.{fmt}"
        _write_table(table, path, fmt)
        written.append(("table", path))
    metadata = out / "release.json"
    write_text_atomically(metadata, json_text(result.to_dict()))
    html = out / "report.html"
    write_text_atomically(html, page)
    return [*written, ("metadata", metadata), ("HTML report", html)]
