import numpy as np
import pandas as pd
import pytest

from automl import InputError
from automl.data import TabularPreprocessor, check_xy, to_frame


def test_numpy_input_gets_stable_column_names() -> None:
    frame = to_frame(np.zeros((3, 2)))
    assert list(frame.columns) == ["x0", "x1"]


def test_preprocessor_types_each_kind_of_column(mixed_frame: tuple[pd.DataFrame, pd.Series]) -> None:
    X, _ = mixed_frame
    pre = TabularPreprocessor().fit(X)
    out = pre.transform(X)
    assert pre.kinds_ == {"amount": "numeric", "colour": "categorical", "size": "categorical", "flag": "numeric", "when": "datetime"}
    assert isinstance(out["colour"].dtype, pd.CategoricalDtype)
    assert set(out["colour"].cat.categories) == {"red", "green", "blue"}
    assert out["flag"].dtype == "float64"
    assert {"when_month", "when_day", "when_day_of_week"} <= set(out.columns)
    assert "when_year" not in out.columns  # constant at fit, so dropped


def test_unseen_categories_and_missing_values_at_predict_become_missing(mixed_frame: tuple[pd.DataFrame, pd.Series]) -> None:
    X, _ = mixed_frame
    pre = TabularPreprocessor().fit(X)
    new = X.head(3).copy()
    new["colour"] = ["purple", None, "red"]
    out = pre.transform(new)
    assert out["colour"].isna().tolist() == [True, True, False]
    assert list(out["colour"].cat.categories) == pre.categories_["colour"]


def test_column_order_at_predict_does_not_matter_and_extras_are_ignored(mixed_frame: tuple[pd.DataFrame, pd.Series]) -> None:
    X, _ = mixed_frame
    pre = TabularPreprocessor().fit(X)
    shuffled = X[list(reversed(X.columns))].assign(extra=1)
    pd.testing.assert_frame_equal(pre.transform(shuffled), pre.transform(X))


def test_missing_column_at_predict_is_named(mixed_frame: tuple[pd.DataFrame, pd.Series]) -> None:
    X, _ = mixed_frame
    pre = TabularPreprocessor().fit(X)
    with pytest.raises(InputError, match=r"X is missing column\(s\) \['colour'\]"):
        pre.transform(X.drop(columns="colour"))


def test_special_characters_in_names_are_made_safe() -> None:
    X = pd.DataFrame({"a/b": [1.0, 2.0], "a_b": [3.0, 4.0], "c [d]": [5.0, 6.0]})
    out = TabularPreprocessor().fit_transform(X)
    assert list(out.columns) == ["a_b", "a_b_1", "c__d_"]


def test_non_numeric_values_in_numeric_column_are_named() -> None:
    pre = TabularPreprocessor().fit(pd.DataFrame({"age": [1, 2, 3]}))
    with pytest.raises(InputError, match='Column "age" was numeric at fit'):
        pre.transform(pd.DataFrame({"age": ["old", "young", "x"]}))


@pytest.mark.parametrize(
    ("X", "y", "message"),
    [
        (pd.DataFrame({"a": []}), [], r"X is empty \(0 rows\)"),
        (pd.DataFrame({"a": [1, 2, 3]}), [0, 1], "X has 3 rows but y has 2"),
        (pd.DataFrame({"a": [1, 2, 3]}), [0, None, 1], r"y has 1 missing value\(s\)"),
        (pd.DataFrame(index=range(3)), [0, 1, 0], "X has no columns"),
        (pd.DataFrame([[1, 2]], columns=["a", "a"]), [0], "duplicated column names"),
    ],
)
def test_bad_training_data_is_explained(X: pd.DataFrame, y: list, message: str) -> None:
    with pytest.raises(InputError, match=message):
        check_xy(X, y)
