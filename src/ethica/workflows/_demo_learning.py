"""The demo's mitigation story on Adult: the price of fairness, its audit, and unawareness.

``learning_sections()`` trains demographic-parity-constrained models by sex at a handful of
bounds (the frontier), audits the chosen model's decisions on the Adult test file, and
shows that dropping sex from the features leaves the disparity in place (proxies). The lead
adds the sections to ``ethica demo``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ethica.report import Section

if TYPE_CHECKING:
    import pandas as pd

    from ethica.workflows._learning import LearningData

__all__ = ["DEMO_BOUNDS", "learning_sections"]

LABEL = "income"
POSITIVE = ">50K"
PROTECTED = "sex"
CONSTRAINT = "demographic_parity"
#: Bounds swept in the demo: a handful (within a minute), from parity to about the
#: unconstrained model's disparity by sex (0.11 on Adult), the target 0.01 among them.
DEMO_BOUNDS = (0.0, 0.01, 0.03, 0.06, 0.12)
#: Not a feature: the census sampling weight.
NOT_FEATURES = ("fnlwgt",)


def learning_sections(
    progress: Callable[[str], None] | None = None,
    *,
    train: pd.DataFrame | None = None,
    test: pd.DataFrame | None = None,
) -> tuple[Section, ...]:
    """Frontier, audit of the chosen model and proxies, on Adult train/test, as sections.

    ``train`` and ``test`` are Adult's two files when the caller has them already (read
    here otherwise).
    """
    from ethica.datasets import load_adult
    from ethica.report import audit_section, frontier_section, proxies_section
    from ethica.workflows._learning import (
        LearningOptions,
        audit_model,
        load_learning_data,
        run_frontier,
        run_proxies,
    )

    step = progress or (lambda _message: None)
    if train is None or test is None:
        step("Mitigation: loading Adult train and test files")
        train, test = load_adult("train"), load_adult("test")

    def data(include_protected: bool) -> LearningData:
        options = LearningOptions(
            label=LABEL,
            protected=PROTECTED,
            positive_label=POSITIVE,
            test=test,
            exclude=NOT_FEATURES,
            include_protected=include_protected,
        )
        return load_learning_data(train, options)

    unaware = data(False)
    step(f"Mitigation: training {len(DEMO_BOUNDS)} models under demographic parity by sex")
    result = run_frontier(unaware, CONSTRAINT, bounds=DEMO_BOUNDS)
    step("Mitigation: auditing the chosen model on the test file")
    chosen_audit = audit_model(result.chosen_model, unaware, CONSTRAINT)
    step("Unawareness: training with and without sex, ranking its proxies")
    proxies = run_proxies(data(True), CONSTRAINT)
    return (
        frontier_section(
            result,
            section_id="mitigation",
            title="Mitigation: what demographic parity by sex costs",
            chosen_audit=chosen_audit,
        ),
        audit_section(
            chosen_audit, section_id="mitigation-audit", title="The chosen fair model, audited"
        ),
        proxies_section(proxies, section_id="unawareness", title="Dropping sex is no guarantee"),
    )
