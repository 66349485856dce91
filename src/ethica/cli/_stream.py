"""``ethica stream``: time series released every bucket, paid for once over a horizon.

``register`` a ledger dataset for a window unit, ``create SPEC.yaml`` (charges the horizon),
``append --at DATE FILE`` each bucket (reads only that file), ``show`` what was released,
``plan`` the budget for "±25 at 95% every day for 365 days"; ``release SPEC.yaml SOURCE``
a batch time series of one table (every bucket at once, one charge).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from ethica.cli._app import command_group, console
from ethica.cli._budget import LedgerOption, budget_from_options, show_budget
from ethica.cli._output import json_text

# The stream machinery (NumPy, Ibis, pandas) loads when a stream command runs, not at
# `ethica --help`; the mechanism names are checked against the library's in a test.
MECHANISMS = ("naive", "tree", "ls-tree", "factorization")

stream_app = command_group(
    "stream", "Release a time series every day (or hour, week) under user-level privacy."
)

Window = Annotated[int, typer.Option("--window", help="Buckets per window of the unit.")]
Bucket = Annotated[str, typer.Option("--bucket", help="hour, day or week.")]
User = Annotated[str, typer.Option("--user", help="The user-id column.")]
MaxKeys = Annotated[int, typer.Option("--max-keys", help="Keys per user per bucket.")]
MaxRows = Annotated[int, typer.Option("--max-rows", help="Rows per user per (key, bucket).")]


@stream_app.command("register")
def register(
    dataset: Annotated[str, typer.Argument(help="Name of the new ledger dataset.")],
    user: User,
    epsilon: Annotated[str | None, typer.Option("--epsilon", help="Pure DP per window.")] = None,
    rho: Annotated[str | None, typer.Option("--rho", help="zCDP per window.")] = None,
    delta: Annotated[
        str | None, typer.Option("--delta", help="With --epsilon: (ε, δ)-DP per window.")
    ] = None,
    window: Window = 28,
    bucket: Bucket = "day",
    max_keys: MaxKeys = 1,
    max_rows: MaxRows = 1,
    ledger: LedgerOption = None,
) -> None:
    """Register DATASET with a budget per window of a user's rows (the stream's unit)."""
    from ethica.privacy import Ledger
    from ethica.privacy.stream import UserWindow

    unit = UserWindow(user, window=window, bucket=bucket, max_keys=max_keys, max_rows=max_rows)
    total = budget_from_options(epsilon, rho, delta)
    with Ledger(ledger) as book:
        book.create_dataset(dataset, total, privacy_unit=unit)
        console.print(
            f"registered [bold]{dataset}[/] with {show_budget(total)} per window: "
            f"{unit.describe()}, in {book.path}",
            highlight=False,
        )


@stream_app.command("create")
def create(
    spec: Annotated[Path, typer.Argument(help="The stream's YAML spec.", exists=True)],
    ledger: LedgerOption = None,
) -> None:
    """Create the stream of SPEC: charges its whole budget now, reads nothing."""
    from ethica.privacy import Ledger
    from ethica.privacy.stream import Stream, read_spec

    parsed = read_spec(spec)
    with Ledger(ledger) as book, Stream.create(parsed, book) as stream:
        console.print(
            f"stream [bold]{parsed.name}[/]: {parsed.mechanism}, {parsed.horizon} "
            f"{parsed.unit.bucket}s from {parsed.start.isoformat()}, charged "
            f"{show_budget(parsed.budget)} to {parsed.dataset!r} ({parsed.unit.describe()}); "
            f"noise {stream.noise.mechanism} {stream.noise.parameter_name}="
            f"{float(stream.noise.parameter):.4g}",
            highlight=False,
        )


@stream_app.command("append")
def append(
    name: Annotated[str, typer.Argument(help="The stream's name.")],
    source: Annotated[str, typer.Argument(help="The bucket's file (its rows only).")],
    at: Annotated[str, typer.Option("--at", help="Start of the bucket, e.g. 2026-03-01.")],
    table: Annotated[str | None, typer.Option("--table", help="Table inside a .duckdb.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the release as JSON.")] = False,
    ledger: LedgerOption = None,
) -> None:
    """Release bucket AT of stream NAME from SOURCE (once: a repeat shows the stored one)."""
    from ethica.privacy import Ledger
    from ethica.privacy.stream import Stream

    with Ledger(ledger) as book, Stream.open(name, book) as stream:
        release = stream.append(at, source, table=table)
    if as_json:
        typer.echo(json_text(release.to_dict()))
        return
    table_ = Table(title=f"{name} {release.at}" + (" (stored)" if release.replayed else ""))
    for column in ("key", "value", "running total"):
        table_.add_column(column)
    level = f"{release.confidence:.0%} {release.interval}"
    for key, daily, running in zip(release.keys, release.daily, release.running, strict=True):
        table_.add_row(
            str(key),
            f"{daily:.6g} ± {release.daily_half_width:.4g}",
            f"{running:.6g} ± {release.running_half_width:.4g}",
        )
    console.print(table_)
    console.print(f"intervals: {level}", highlight=False)
    if release.bounding:
        console.print(_bounding_line(release.bounding), highlight=False)


@stream_app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="The stream's name.")],
    ledger: LedgerOption = None,
) -> None:
    """Every bucket released so far, as JSON."""
    from ethica.privacy import Ledger
    from ethica.privacy.stream import Stream

    with Ledger(ledger) as book, Stream.open(name, book) as stream:
        document = {
            "spec": stream.spec.to_dict(),
            "released": [r.to_dict() for r in stream.releases()],
        }
    typer.echo(json_text(document))


@stream_app.command("plan")
def plan(
    target: Annotated[float, typer.Option("--target", help="Half-width on every point.")],
    horizon: Annotated[int, typer.Option("--horizon", help="Buckets released.")],
    confidence: Annotated[float, typer.Option("--confidence")] = 0.95,
    window: Window = 28,
    bucket: Bucket = "day",
    max_keys: MaxKeys = 1,
    max_rows: MaxRows = 1,
    kind: Annotated[str, typer.Option("--kind", help="pure (Laplace) or zcdp.")] = "pure",
    what: Annotated[str, typer.Option("--for", help="running, daily or both.")] = "both",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The budget per window each mechanism needs for ±TARGET on every point, and its errors."""
    from ethica.privacy.stream import UserWindow, plan_stream

    unit = UserWindow("user", window=window, bucket=bucket, max_keys=max_keys, max_rows=max_rows)
    result = plan_stream(
        target,
        horizon=horizon,
        unit=unit,
        confidence=confidence,
        kind=kind,  # type: ignore[arg-type]
        what=what,  # type: ignore[arg-type]
    )
    if as_json:
        typer.echo(json_text(result.to_dict()))
        return
    table = Table(
        title=f"±{target:g} at {confidence:.0%} on every {what} point, {horizon} {bucket}s, "
        f"{window}-{bucket} windows"
    )
    for column in ("mechanism", "budget per window", "running ± (max)", "running ± (last)",
                   "value ± (max)", "interval"):  # fmt: skip
        table.add_column(column)
    for row in result.mechanisms:
        mark = " *" if row.mechanism == result.recommended.mechanism else ""
        table.add_row(
            row.mechanism + mark,
            show_budget(row.budget),
            f"{row.running_half_width_max:.4g}",
            f"{row.running_half_width_last:.4g}",
            f"{row.daily_half_width_max:.4g}",
            row.interval,
        )
    console.print(table)
    console.print(
        f"* recommended: {result.recommended.mechanism} (smallest budget); mechanisms: "
        f"{', '.join(MECHANISMS)}",
        highlight=False,
    )


@stream_app.command("release")
def release(
    spec: Annotated[Path, typer.Argument(help="The series' YAML spec.", exists=True)],
    source: Annotated[str, typer.Argument(help="The table: every bucket's rows.")],
    request_id: Annotated[
        str | None, typer.Option("--request-id", help="Makes a retry return the stored release.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the points as CSV here.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the release as JSON.")] = False,
    ledger: LedgerOption = None,
) -> None:
    """Release SPEC's time series of SOURCE at once: one charge, an exact interval per point."""
    from ethica.privacy import Ledger
    from ethica.privacy.stream._series import read_series_spec, release_series

    arguments = read_series_spec(spec)
    dataset = arguments.pop("dataset")
    with Ledger(ledger) as book:
        result = release_series(
            source, ledger=book, dataset=dataset, request_id=request_id, **arguments
        )
    frame = result.to_frame()
    if output is not None:
        frame.to_csv(output, index=False)
    if as_json:
        typer.echo(json_text(result.to_dict()))
        return
    table = Table(title=f"{result.statistic} by {result.bucket} ({len(frame)} points)")
    running = "running" in frame.columns
    for column in ("at", "key", "value", *(["running total"] if running else [])):
        table.add_column(column)
    for row in frame.head(50).to_dict("records"):
        cells = [str(row["at"]), str(row["key"]), _point(row, "value", "lower")]
        table.add_row(*cells, *([_point(row, "running", "running_lower")] if running else []))
    console.print(table)
    console.print(
        f"{result.confidence:.0%} {result.interval} intervals"
        + (f", running totals by {result.running_mechanism}" if running else "")
        + f"; charged {show_budget(result.budget)} to "
        f"{dataset!r}; sensitivity: {result.cells_per_window} cells per window"
        + (f"; all points in {output}" if output is not None else ""),
        highlight=False,
    )
    console.print(_bounding_line(result.bounding), highlight=False)


def _point(row: dict[str, Any], value: str, lower: str) -> str:
    """``value ± half-width`` of one released point."""
    return f"{row[value]:.6g} ± {row[value] - row[lower]:.4g}"


def _bounding_line(bounding: dict[str, Any]) -> str:
    """One line on what contribution bounding did (the DP report's counts, or the note)."""
    capped = bounding.get("users_capped")
    if not isinstance(capped, dict):
        return "bounding: not reported (add bounding_share: to the spec for a DP report)"
    parts = [f"users capped {capped['value']} [{capped['ci_low']}, {capped['ci_high']}]"]
    clamped = bounding.get("values_clamped")
    if isinstance(clamped, dict):
        for side in ("below", "above"):
            point = clamped[side]
            parts.append(
                f"values {side} the bounds {point['value']} [{point['ci_low']}, {point['ci_high']}]"
            )
    return "bounding report (DP): " + "; ".join(parts)
