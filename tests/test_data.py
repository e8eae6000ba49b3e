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
        (pd.DataFrame(index=range(3)), [0, 1, 0], r"X has 0 feature\(s\) \(shape=\(3, 0\)\) while a minimum of 1"),
        (pd.DataFrame([[1, 2]], columns=["a", "a"]), [0], "duplicated column names"),
        (pd.DataFrame({"a": [1.0]}), [0], r"X has one row \(n_samples=1\)"),
        (np.array([[1 + 2j], [3 + 0j], [1j]]), [0, 1, 0], r"column\(s\) \['x0'\]: Complex data not supported"),
        (pd.DataFrame({"a": [1.0, 2.0, 3.0]}), np.array([0, 1, 1j]), "y holds complex values"),
        (pd.DataFrame({"a": [1.0, 2.0, 3.0]}), None, "requires y to be passed, but the target y is None"),
        (pd.DataFrame({"a": [1.0, 2.0, 3.0]}), np.zeros((3, 2)), r"y has shape \(3, 2\)"),
        (pd.DataFrame({"a": [1.0, 2.0, 3.0]}), [0.5, np.inf, 1.0], r"y has 1 infinite value\(s\) \(the first in row 1\)"),
        (pd.DataFrame({"a": [{"k": 1}, {"k": 2}, None]}), [0, 1, 0], "Column 'a' of X holds only values such as a dict"),
    ],
)
def test_bad_training_data_is_explained(X: pd.DataFrame, y: list, message: str) -> None:
    with pytest.raises(InputError, match=message):
        check_xy(X, y)


def test_object_columns_of_numbers_are_numeric_and_unusable_values_missing(caplog: pytest.LogCaptureFixture) -> None:
    X = np.array([[0.5, "a"], [1.5, "b"], [{"k": 1}, "a"], [2.5, "b"]], dtype=object)
    with caplog.at_level("WARNING", logger="automl.data"):
        frame, _ = check_xy(X, [0, 1, 0, 1])
    assert frame["x0"].dtype == np.float64 and np.isnan(frame["x0"][2])  # the dict became missing, the rest numbers
    assert frame["x1"].dtype == object
    assert "Column 'x0' of X holds 1 value(s) that are neither a string nor a number (a dict in row 2)" in caplog.text
    pre = TabularPreprocessor().fit(frame)
    assert pre.kinds_ == {"x0": "numeric", "x1": "categorical"}
    with pytest.raises(TypeError, match="argument must be a string or a number"):  # scikit-learn's words
        check_xy(np.array([[{"k": 1}], [{"k": 2}]], dtype=object), [0, 1])


def test_a_table_of_numbers_is_transformed_as_one_block_with_the_same_values() -> None:
    """Numeric and boolean columns (nullable ones with missing values included) go through one float64 block; the
    values equal the column-by-column conversion, which a column of numbers as text still takes."""
    X = pd.DataFrame({"i": [1, 2, 3], "f": [0.5, np.nan, 2.0], "b": [True, False, True],
                      "n": pd.array([4, None, 6], dtype="Int64"), "nb": pd.array([True, None, False], dtype="boolean"),
                      "a/b": [7.0, 8.0, 9.0]}, index=[10, 11, 12])
    pre = TabularPreprocessor().fit(X)
    expected = pd.DataFrame({pre.output_names_[c]: pd.to_numeric(X[c].reset_index(drop=True)).astype("float64")
                             for c in X.columns})
    pd.testing.assert_frame_equal(pre.transform(X), expected)
    as_text = X.assign(i=["1", "2", "3"])  # object dtype: judged column by column, to the same numbers
    pd.testing.assert_frame_equal(pre.transform(as_text), expected)


def test_a_category_is_matched_by_its_value_whatever_the_column_s_dtype_or_category_order() -> None:
    """Strings, pandas string arrays and categoricals (in another category order, ordered or with extra
    categories) all give the codes of the categories seen at fit; unseen and missing values are missing."""
    pre = TabularPreprocessor().fit(pd.DataFrame({"c": ["a", "b", "c", "a"], "x": [1.0, 2.0, 3.0, 4.0]}))
    values = ["c", "a", "zz", None, "b"]
    expected = pd.Series([2, 0, -1, -1, 1], dtype="int8")
    inputs = {"object": pd.Series(values, dtype=object), "string": pd.Series(values, dtype="string"),
              "reordered": pd.Series(pd.Categorical(values, categories=["c", "b", "a", "zz"])),
              "ordered": pd.Series(pd.Categorical(values, categories=["b", "a", "c", "zz"], ordered=True)),
              "same": pd.Series(pd.Categorical(values, categories=["a", "b", "c"]))}
    for kind, column in inputs.items():
        out = pre.transform(pd.DataFrame({"c": column, "x": 0.0}))
        assert list(out["c"].cat.categories) == ["a", "b", "c"] and not out["c"].cat.ordered, kind
        pd.testing.assert_series_equal(out["c"].cat.codes, expected, check_names=False, obj=kind)


def test_infinite_features_are_named_at_fit_and_predict() -> None:
    pre = TabularPreprocessor().fit(pd.DataFrame({"a": [1.0, 2.0], "b": [0.0, 1.0]}))
    with pytest.raises(InputError, match=r'Column "b" holds 1 infinite value\(s\) \(the first in row 1\)'):
        pre.transform(pd.DataFrame({"a": [1.0, 2.0], "b": [0.0, -np.inf]}))


def test_a_column_vector_target_is_taken_with_sklearns_warning() -> None:
    from sklearn.exceptions import DataConversionWarning

    with pytest.warns(DataConversionWarning, match="A column-vector y was passed when a 1d array was expected"):
        _, target = check_xy(pd.DataFrame({"a": [1.0, 2.0, 3.0]}), np.array([[0], [1], [0]]))
    assert target.tolist() == [0, 1, 0]
