"""The demo story on real data: an ordinary model, audited; later issues add their sections.

``build_demo()`` does the work and returns the report page and a short summary; the
CLI (``ethica demo``) writes the files. Data: the UCI Adult files shipped with ethica
(see :mod:`ethica.datasets`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["DemoResult", "build_demo", "train_ordinary_model"]

LABEL = "income"
POSITIVE = ">50K"
PROTECTED = ("sex", "race")


@dataclass(frozen=True)
class DemoResult:
    """The demo's page (HTML) and the lines of its printed summary."""

    html: str
    summary: tuple[str, ...]


def train_ordinary_model(train: pd.DataFrame, *, seed: int = 0) -> object:
    """Logistic regression on every column but the label (one-hot categories, scaled numbers).

    An ordinary model, as a bank or an employer would fit it: the protected columns are
    features like any other.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    features = train.drop(columns=[LABEL, "fnlwgt"], errors="ignore")
    categorical = [c for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])]
    numeric = [c for c in features.columns if c not in categorical]
    encoder = ColumnTransformer(
        [
            (
                "categories",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="(missing)"),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                categorical,
            ),
            ("numbers", StandardScaler(), numeric),
        ]
    )
    model = make_pipeline(encoder, LogisticRegression(max_iter=2000, random_state=seed))
    target = (train[LABEL] == POSITIVE).astype(int)
    model.fit(features.astype({c: object for c in categorical}), target)
    return model


def _scored(model: object, test: pd.DataFrame) -> pd.DataFrame:
    features = test.drop(columns=[LABEL, "fnlwgt"], errors="ignore")
    categorical = [c for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])]
    scores = model.predict_proba(features.astype({c: object for c in categorical}))[:, 1]  # type: ignore[attr-defined]
    return test.assign(
        outcome=(test[LABEL] == POSITIVE).astype(np.int8),
        score=scores,
        decision=(scores >= 0.5).astype(np.int8),
    )


def build_demo(*, progress: Callable[[str], None] | None = None) -> DemoResult:
    """Run the demo: train on Adult train, predict Adult test, audit by sex and race."""
    from ethica.datasets import load_adult
    from ethica.fairness import audit
    from ethica.report import Report, Section, audit_section

    step = progress or (lambda _message: None)
    step("Loading Adult (UCI, 1994 CPS extract)")
    train, test = load_adult("train"), load_adult("test")
    step("Training an ordinary classifier (logistic regression)")
    model = train_ordinary_model(train)
    scored = _scored(model, test)
    accuracy = float((scored["decision"] == scored["outcome"]).mean())
    step("Auditing its decisions by sex, race and their intersection")
    result = audit(
        scored,
        label="outcome",
        prediction="decision",
        score="score",
        protected=list(PROTECTED),
        harm="selection",
    )
    intro = Section(
        id="data",
        title="Data and model",
        lead=(
            f"An ordinary logistic regression trained on {len(train):,} people of the UCI "
            f"Adult data predicts who earns more than $50K; we audit its {len(test):,} "
            f"decisions on the held-out test file (accuracy {100 * accuracy:.1f}%)."
        ),
        html=(
            "<p class='muted'>Adult: 1994 US Current Population Survey extract, "
            "UCI Machine Learning Repository (Kohavi and Becker, 1996), CC BY 4.0. "
            "The model sees every column, protected ones included, as an ordinary model "
            "would.</p>"
        ),
    )
    from ethica.workflows._demo_attacks import attack_sections
    from ethica.workflows._demo_learning import learning_sections
    from ethica.workflows._demo_privacy_fairness import privacy_fairness_sections
    from ethica.workflows._demo_release import release_sections
    from ethica.workflows._stream_demo import stream_sections
    from ethica.workflows._synth import synth_sections

    sections = (
        intro,
        audit_section(result, title="Does the model's output discriminate?"),
        *learning_sections(progress=step, train=train, test=test),
        *release_sections(progress=step, adult=train),
        *stream_sections(progress=step),
        *synth_sections(progress=step),
        *attack_sections(progress=step, adult=train),
        *privacy_fairness_sections(scored, result, progress=step, train=train, test=test),
    )
    report = Report(
        "ethica demo",
        "Fairness and privacy, measured on real data: what each guarantee costs.",
        sections,
    )
    summary = (
        f"Model accuracy on Adult test: {100 * accuracy:.1f}% ({len(test):,} people).",
        *(f"{section.title}: {section.lead}" for section in sections[1:] if section.lead),
    )
    return DemoResult(html=report.render(), summary=summary)
