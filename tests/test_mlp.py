"""The PyTorch MLP family: fits, reports epochs to early stopping, repeats with a seed, serves from MLflow."""

from __future__ import annotations

import importlib.util

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from automl import AutoML, InputError
from automl.estimators import BuildContext, get_adapter
from automl.params import resolve_families
from automl.tasks import get_task
from automl.tracking.model_logging import mlflow_safe_frame


def mlp(**kwargs: object) -> AutoML:
    params = {"estimators": ["mlp"], "time_budget": None, "max_trials": 6, "tracking": False, "seed": 0, "n_jobs": 1}
    params.update(kwargs)
    return AutoML(**params)  # type: ignore[arg-type]


def test_epochs_are_the_intermediate_steps(breast_cancer: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = breast_cancer
    board = mlp(max_trials=10, eval_method="holdout", early_stop="asha").fit(X, y).leaderboard()
    pruned = board[board.status == "pruned"]
    assert len(pruned) >= 3 and set(pruned.last_step) <= {4, 8, 16, 32, 64, 128}
    assert pruned.error.str.match(r"stopped by asha at round \d+").all()
    assert board.score.max() > 0.95  # roc_auc of a network on standardised breast-cancer features


def test_same_seed_same_network_scores(breast_cancer: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = breast_cancer
    first, second = (mlp(max_trials=3, eval_method="holdout").fit(X, y).leaderboard() for _ in range(2))
    pd.testing.assert_frame_equal(first[["trial_id", "score"]], second[["trial_id", "score"]])


def test_a_fit_leaves_the_caller_s_torch_rng_as_it_was(breast_cancer: tuple[pd.DataFrame, pd.Series]) -> None:
    import torch

    X, y = breast_cancer
    torch.manual_seed(12345)
    state = torch.get_rng_state()
    scores = [mlp(max_trials=2, eval_method="holdout").fit(X, y).leaderboard().score.tolist() for _ in range(2)]
    assert torch.equal(torch.get_rng_state(), state), "the fits moved the caller's torch RNG"
    assert scores[0] == scores[1]  # each fit seeds its own draws: the caller's state does not move the results
    torch.manual_seed(999)
    assert mlp(max_trials=2, eval_method="holdout").fit(X, y).leaderboard().score.tolist() == scores[0]


def test_multiclass_with_missing_values_and_categories(mixed_frame: tuple[pd.DataFrame, pd.Series],
                                                       wine_strings: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = wine_strings
    m = mlp(max_trials=2, metric="log_loss").fit(X, y)
    assert m.predict_proba(X).shape == (len(X), 3) and set(m.predict(X)) <= set(y)
    X, y = mixed_frame
    m = mlp(max_trials=2).fit(X, y)
    assert np.isfinite(m.predict_proba(X)).all()


def test_deadline_stops_training_between_epochs(diabetes: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = diabetes
    adapter = get_adapter("mlp")
    model = adapter.build({"epochs": 10_000, "hidden_units": 64, "n_layers": 2, "dropout": 0.0, "learning_rate": 1e-3,
                           "weight_decay": 1e-4, "batch_size": 32}, BuildContext("regression", 0, 1, 0))
    import time

    import torch  # noqa: F401 - imported before the clock starts: the test measures the deadline, not torch's import

    started = time.monotonic()
    completed = adapter.fit(model, X, y.to_numpy(), deadline=started + 1.0)
    assert not completed and time.monotonic() - started < 5
    assert np.isfinite(model.predict(X)).all()


def test_not_in_auto_and_a_missing_torch_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "mlp" not in resolve_families("auto", get_task("binary"))
    assert resolve_families(["mlp", "lgbm"], get_task("regression")) == ["lgbm", "mlp"]
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    with pytest.raises(InputError, match=r'estimator "mlp" cannot run here: PyTorch is not installed; install it with pip install "automl\[torch\]"'):
        resolve_families(["mlp"], get_task("binary"))


def test_logged_network_serves_from_mlflow_with_torch_pinned(breast_cancer: tuple[pd.DataFrame, pd.Series],
                                                             tracking_uri: str, experiment: str,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    X, y = breast_cancer
    m = mlp(max_trials=2, tracking=True, tracking_uri=tracking_uri, experiment=experiment).fit(X, y)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
    loaded = mlflow.pyfunc.load_model(m.model_uri_)
    np.testing.assert_array_equal(np.asarray(loaded.predict(mlflow_safe_frame(X.head(50)))), m.predict(X.head(50)))
    requirements = mlflow.pyfunc.get_model_dependencies(m.model_uri_)
    with open(requirements) as handle:
        assert any(line.startswith("torch==") for line in handle)
    assert MlflowClient(tracking_uri).get_run(m.mlflow_run_id_).data.tags["automl.best_estimator"] == "mlp"


@pytest.mark.parametrize("family", ["mlp", "xgboost"])
def test_a_trial_given_a_gpu_that_trained_on_the_cpu_says_so(family: str, breast_cancer: tuple[pd.DataFrame, pd.Series],
                                                            caplog: pytest.LogCaptureFixture) -> None:
    """This machine has no GPU: torch and XGBoost fall back to the CPU, which the trial must not hide."""
    from automl.problem import build_problem
    from automl.study import Trial
    from automl.task import make_task

    X, y = breast_cancer
    problem = build_problem(make_task("classification", eval_method="holdout"), X, y, [family], None, None, 0)
    config = problem.space.spaces[family].low_cost_config()
    objective = problem.objective(n_jobs=1, device="cuda")
    with caplog.at_level("WARNING", logger="automl.objective"):
        result = objective(Trial(0, family, config, 0), None)
    assert result.status == "ok" and result.device == "cpu"
    assert f"Trial 0 ({family}) was given a GPU but trained on cpu" in caplog.text
    assert problem.objective(n_jobs=1)(Trial(1, family, config, 0), None).device == "cpu"


def test_the_network_has_the_configured_architecture_and_keeps_its_best_epoch(diabetes: tuple[pd.DataFrame, pd.Series]) -> None:
    import torch

    from automl.estimators.torch_mlp import _holdout

    X, y = diabetes
    adapter = get_adapter("mlp")
    config = {"epochs": 300, "n_layers": 3, "width_1": 32, "width_2": 16, "width_3": 16, "dropout_1": 0.0,
              "dropout_2": 0.2, "dropout_3": 0.0, "activation": "gelu", "normalization": "layer", "residual": True,
              "schedule": "one_cycle", "learning_rate": 0.03, "weight_decay": 1e-6, "batch_size": 16, "patience": 6}
    model = adapter.build(config, BuildContext("regression", 0, 1, 0))
    assert adapter.fit(model, X, y.to_numpy())
    fitted = model.named_steps["mlp"]
    blocks = list(fitted.network_)[1:-1]  # after the inputs, before the output layer
    assert [b.linear.out_features for b in blocks] == [32, 16, 16] and [b.dropout.p for b in blocks] == [0.0, 0.2, 0.0]
    assert all(isinstance(b.norm, torch.nn.LayerNorm) and isinstance(b.activation, torch.nn.GELU) for b in blocks)
    assert [type(b.skip).__name__ for b in blocks] == ["Linear", "Linear", "Identity"]  # projections where widths change
    losses = fitted.validation_losses_
    assert len(losses) < 300 and fitted.best_epoch_ == int(np.argmin(losses)) + 1  # stopped early, after its best
    assert len(losses) - fitted.best_epoch_ == 6  # patience epochs past the best
    _, held = _holdout(len(X), torch.Generator().manual_seed(0))
    matrix = model.named_steps["features"].transform(X)
    restored = float(np.mean((fitted.predict(matrix[held.numpy()]) - y.to_numpy()[held.numpy()]) ** 2)) / fitted.target_scale_ ** 2
    assert restored == pytest.approx(min(losses), rel=1e-4)  # the weights are the best epoch's, not the last's


def test_a_search_over_the_architecture_space_fits_networks_of_several_depths(breast_cancer: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = breast_cancer
    m = mlp(max_trials=8, eval_method="holdout", strategy="random").fit(X, y)
    configs = [t.config for t in m.study_.trials]
    assert len({c["n_layers"] for c in configs}) >= 3
    for config in configs:  # the width of each layer the network has, and none of a layer it lacks
        assert {k for k in config if k.startswith("width_")} == {f"width_{k}" for k in range(1, config["n_layers"] + 1)}
    assert m.score(X, y) > 0.9


def test_a_many_category_column_gets_a_learned_embedding_and_a_few_category_one_one_hot() -> None:
    """A target that only the category explains: 40 shops, each with its own rate of "yes". Above embed_above the
    column is one code looked up in an embedding table (a slot for missing and unseen values); below, one-hot."""
    from torch import nn

    rng = np.random.default_rng(0)
    n, shops = 3000, [f"shop{i}" for i in range(40)]
    shop = rng.choice(shops, n)
    rate = dict(zip(shops, rng.uniform(0.05, 0.95, len(shops))))
    X = pd.DataFrame({"shop": shop, "colour": rng.choice(["red", "blue"], n), "noise": rng.normal(size=n)})
    y = np.where(rng.random(n) < np.vectorize(rate.get)(shop), "yes", "no")
    adapter = get_adapter("mlp")
    model = adapter.build({"embed_above": 8, "embed_dim": 4, "epochs": 24, "learning_rate": 0.01},
                          BuildContext("classification", 0, 1, 0))
    categories = X.astype({"shop": "category", "colour": "category"})  # as automl's feature transform gives them
    adapter.fit(model, categories, y)
    network = model.named_steps["mlp"].network_
    (embedding,) = [layer for layer in network.modules() if isinstance(layer, nn.Embedding)]
    assert embedding.num_embeddings == 41 and embedding.embedding_dim == 4  # 40 shops and the missing/unseen slot
    assert network[0].width == 1 + 2 + 4  # noise, colour one-hot (2 columns), the shop's embedding
    oracle = np.mean([max(rate[s], 1 - rate[s]) for s in shop])  # accuracy of knowing each shop's rate
    assert (model.predict(categories) == y).mean() > oracle - 0.05
    m = mlp(max_trials=1).fit(X, y)  # the default configuration: more than 16 categories are embedded
    assert any(isinstance(layer, nn.Embedding) for layer in m.best_model_.named_steps["mlp"].network_.modules())
    unseen = X.head(3).assign(shop=["new shop", None, "shop1"])
    assert np.isfinite(m.predict_proba(unseen)).all()
