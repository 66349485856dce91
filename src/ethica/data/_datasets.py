"""Real data sets shipped with ethica, for examples, tests and the demo.

Both are compressed copies of public UCI data sets, built by ``scripts/build_datasets.py``
from the original files; no rows are added, removed or altered beyond the decoding below.

- **Adult** (Census Income): an extract of the 1994 US Current Population Survey, donated
  to the UCI Machine Learning Repository in 1996 by Ronny Kohavi and Barry Becker.
  Dua, D. and Graff, C., *UCI Machine Learning Repository*, https://archive.ics.uci.edu/dataset/2.
  Licence: CC BY 4.0.
- **Statlog (German Credit Data)**: 1,000 credit applicants, by Prof. Hans Hofmann,
  Universität Hamburg. https://archive.ics.uci.edu/dataset/144. Licence: CC BY 4.0.

Changes from the originals: column names in snake_case; ``?`` read as missing; the
trailing period of the Adult test labels removed; German codes (``A11``...) decoded into
their documented meanings, with a derived ``sex`` column and ``credit`` as ``"good"``/``"bad"``.
"""

from __future__ import annotations

from importlib import resources
from typing import Literal

import pandas as pd

from ethica._exceptions import InvalidParameterError

__all__ = ["load_adult", "load_german"]

_FILES = "ethica.data._files"


def _read_shipped(name: str) -> pd.DataFrame:
    with resources.as_file(resources.files(_FILES) / name) as path:
        return pd.read_csv(path, compression="gzip")


def load_adult(split: Literal["train", "test"] = "train") -> pd.DataFrame:
    """Load the UCI Adult (Census Income) data set.

    Parameters
    ----------
    split
        ``"train"`` (``adult.data``, 32,561 rows) or ``"test"`` (``adult.test``, 16,281 rows).

    Returns
    -------
    pandas.DataFrame
        Columns ``age, workclass, fnlwgt, education, education_num, marital_status,
        occupation, relationship, race, sex, capital_gain, capital_loss, hours_per_week,
        native_country, income``; ``income`` is ``"<=50K"`` or ``">50K"`` in both splits;
        missing values (``?`` in the original) are ``NaN``.

    Notes
    -----
    Kohavi, R. (1996). Scaling up the accuracy of naive-Bayes classifiers: a decision-tree
    hybrid. *KDD-96*. Data: UCI Machine Learning Repository, CC BY 4.0.
    The usual fairness set-up takes ``income == ">50K"`` as the positive label and ``sex``
    and ``race`` as protected attributes.
    """
    if split not in ("train", "test"):
        raise InvalidParameterError(
            f"split must be 'train' or 'test', got {split!r}; "
            "use load_adult('train') or load_adult('test')."
        )
    return _read_shipped(f"adult_{split}.csv.gz")


def load_german() -> pd.DataFrame:
    """Load the UCI Statlog (German Credit Data) data set, decoded into readable values.

    Returns
    -------
    pandas.DataFrame
        1,000 rows: the 20 original attributes (coded categories replaced by their meanings
        from the data set's documentation, e.g. ``status = "... < 0 DM"``; ``telephone`` and
        ``foreign_worker`` as booleans), a derived ``sex`` (``"male"``/``"female"``, from
        ``personal_status_sex``) and the label ``credit`` (``"good"``/``"bad"``).

    Notes
    -----
    Hofmann, H. Statlog (German Credit Data). UCI Machine Learning Repository, CC BY 4.0.
    The usual fairness set-up takes ``credit == "good"`` as the positive label and ``sex``
    and age (e.g. under 25) as protected attributes.
    """
    return _read_shipped("german.csv.gz")
