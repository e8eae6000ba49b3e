"""The Python API on a bundled dataset: fit, predict, leaderboard, MLflow.

    python examples/python_api.py
"""

from __future__ import annotations

from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

from automl import AutoML


def main(time_budget: float = 20, tracking_uri: str | None = None) -> AutoML:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    automl = AutoML(task="classification", metric="roc_auc", time_budget=time_budget, seed=0, tracking_uri=tracking_uri)
    automl.fit(X_train, y_train)
    print(automl.leaderboard().head(5)[["trial_id", "estimator", "status", "score", "duration_s"]])
    print("best:", automl.best_estimator_, automl.best_config_)
    print("test roc_auc:", round(automl.score(X_test, y_test), 5))
    print("MLflow run:", automl.mlflow_run_id_, "model:", automl.model_uri_)
    return automl


if __name__ == "__main__":
    main()
