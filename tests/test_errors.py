"""Bad input reaches the user as one sentence naming the parameter, column or file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from automl import AutoML, AutoMLError, InputError, NotFittedError

X = pd.DataFrame({"a": [0.1, 0.5, 0.9, 0.3, 0.7, 0.2, 0.8, 0.4], "b": list("xyxyxyxy")})
Y = pd.Series([0, 1, 1, 0, 1, 0, 1, 0])


def fit(**kwargs: object) -> AutoML:
    params = {"time_budget": None, "max_trials": 1, "tracking": False}
    params.update(kwargs)
    return AutoML(**params).fit(X, Y)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"metric": "acuracy"}, 'Unknown metric "acuracy" for metric. Did you mean "accuracy"'),
        ({"estimators": ["lgbm", "xgbost"]}, 'Unknown estimator "xgbost" for estimators. Did you mean "xgboost"'),
        ({"strategy": "randm"}, 'Unknown strategy "randm" for strategy. Did you mean "random"'),
        ({"task": "clasification"}, 'Unknown task "clasification" for task. Did you mean "classification"'),
        ({"time_budget": 0}, r"time_budget=0 is invalid; pass a positive number of seconds"),
        ({"time_budget": -5}, r"time_budget=-5 is invalid"),
        ({"time_budget": None, "max_trials": None}, "time_budget=None needs max_trials"),
        ({"max_trials": 0}, "max_trials=0 is invalid"),
        ({"n_jobs": 0}, "n_jobs=0 is invalid"),
        ({"estimators": []}, r"estimators=\[\] is empty"),
        ({"metric": "rmse"}, 'metric="rmse" does not apply to a binary task'),
    ],
)
def test_bad_parameters(kwargs: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        fit(**kwargs)


def test_predict_before_fit() -> None:
    from sklearn.exceptions import NotFittedError as SklearnNotFittedError

    for method in ("predict", "predict_proba", "leaderboard"):
        with pytest.raises(NotFittedError, match=r"not fitted yet; call fit\(X, y\)"):
            getattr(AutoML(), method)(*([X] if method != "leaderboard" else []))
        with pytest.raises(SklearnNotFittedError):  # what scikit-learn code catches
            getattr(AutoML(), method)(*([X] if method != "leaderboard" else []))


def test_an_array_with_another_number_of_columns_gets_scikit_learn_s_message() -> None:
    m = fit(estimators=["lr"])
    with pytest.raises(InputError, match=r"X has 3 features, but AutoML is expecting 2 features as input; pass the "
                                         r"columns it was fitted on, in this order: \['a', 'b'\]"):
        m.predict(np.zeros((2, 3)))


def test_predict_with_missing_columns() -> None:
    m = fit(estimators=["lr"])
    with pytest.raises(InputError, match=r"X is missing column\(s\) \['b'\]"):
        m.predict(X[["a"]])


def test_single_class_and_nan_target() -> None:
    with pytest.raises(InputError, match="one class only"):
        AutoML(tracking=False).fit(X, [1] * len(X))
    with pytest.raises(InputError, match=r"y has 2 missing value\(s\)"):
        AutoML(tracking=False).fit(X, [0, 1, None, 1, 0, None, 1, 0])


def test_score_with_unknown_labels() -> None:
    m = fit(estimators=["lr"])
    with pytest.raises(InputError, match=r"label\(s\) \['7'\] not seen at fit"):
        m.score(X, Y.replace(0, 7))


def test_a_budget_spent_before_the_first_trial_says_so(breast_cancer: tuple[pd.DataFrame, pd.Series], tmp_path) -> None:
    """Less budget than the room kept for recording the job: no trial can start, and the error says why."""
    X, y = breast_cancer
    m = AutoML(time_budget=0.5, seed=0, tracking_uri=f"sqlite:///{tmp_path / 'store.db'}", experiment="tiny")
    with pytest.raises(AutoMLError, match=r"time_budget=0.5 ran out before the first trial could start: .* s are kept "
                                          r"at its end for recording the job; raise time_budget\."):
        m.fit(X, y)
