"""Sizing trials to a Ray cluster: ``plan_resources`` on node lists, and one job on a real two-node cluster."""

from __future__ import annotations

import logging

import pandas as pd
import pytest
from ray.cluster_utils import Cluster

from automl import AutoML, InputError
from automl.backends.ray_cluster import plan_resources


@pytest.mark.parametrize("nodes,n_concurrent,cpu", [
    ([{"CPU": 2.0}, {"CPU": 2.0}], 1, 2.0),    # all 4 CPUs would fit on no node: one node's worth
    ([{"CPU": 2.0}, {"CPU": 2.0}], 2, 2.0),    # one trial per node
    ([{"CPU": 2.0}, {"CPU": 2.0}], 3, 1.0),
    ([{"CPU": 1.0}, {"CPU": 2.0}], 1, 2.0),    # the fault tests' cluster: a head of 1 CPU and a worker of 2
    ([{"CPU": 8.0}, {"CPU": 2.0}], 2, 4.0),    # both on the large node, not one trial of 5 CPUs and a capped second
    ([{"CPU": 8.0}], 3, 2.0),                  # one node: its CPUs divided by the concurrency
    ([{"CPU": 0.0}, {"CPU": 4.0}], 1, 4.0),    # a head that runs no trials
])
def test_without_a_cpu_request_the_concurrent_trials_fit_on_the_nodes(nodes: list[dict[str, float]], n_concurrent: int,
                                                                      cpu: float) -> None:
    plan = plan_resources({}, n_concurrent, nodes)
    assert (plan.cpu, plan.gpu, plan.n_concurrent) == (cpu, 0.0, n_concurrent)


def test_a_gpu_request_sizes_the_cpus_on_the_nodes_with_gpus() -> None:
    nodes = [{"CPU": 4.0, "GPU": 1.0}, {"CPU": 16.0}]
    assert plan_resources({"gpu": 1}, 1, nodes) == plan_resources({"gpu": 1.0, "cpu": 4.0}, 1, nodes)
    plan = plan_resources({"gpu": 0.5}, 2, nodes)
    assert (plan.cpu, plan.gpu, plan.n_concurrent) == (2.0, 0.5, 2)


def test_more_trials_than_cpus_are_capped_at_one_cpu_each(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="automl.backends.ray_cluster"):
        plan = plan_resources({}, 5, [{"CPU": 2.0}, {"CPU": 1.0}])
    assert (plan.cpu, plan.n_concurrent) == (1.0, 3)
    assert "n_concurrent_trials=5 but the cluster holds 3 trials" in caplog.text


def test_an_explicit_request_is_kept_and_checked() -> None:
    plan = plan_resources({"cpu": 1.5}, 2, [{"CPU": 2.0}, {"CPU": 2.0}])
    assert (plan.cpu, plan.n_concurrent, plan.threads) == (1.5, 2, 1)
    with pytest.raises(InputError, match=r"resources_per_trial=\{'cpu': 3.0\} does not fit on any Ray node"):
        plan_resources({"cpu": 3.0}, 1, [{"CPU": 2.0}, {"CPU": 2.0}])
    with pytest.raises(InputError, match=r"does not fit on any Ray node \(the largest have 0.5 CPU"):
        plan_resources({}, 1, [{"CPU": 0.5}])


def _threads(X_val, y_val, estimator, labels, X_train, y_train, *args: object) -> tuple[float, dict[str, float]]:
    """A custom metric that reports the threads the trial's estimator was given."""
    from sklearn.metrics import log_loss

    return log_loss(y_val, estimator.predict_proba(X_val), labels=labels), {"n_jobs": float(estimator.get_params()["n_jobs"])}


@pytest.mark.slow
def test_a_job_without_resources_runs_on_a_cluster_whose_cpus_no_single_node_has(breast_cancer) -> None:
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    try:
        cluster.add_node(num_cpus=2)
        cluster.wait_for_nodes()
        X, y = breast_cancer
        m = AutoML(time_budget=None, max_trials=2, seed=0, estimators=["lgbm"], early_stop=None, tracking=False,
                   metric=_threads, backend="ray", ray_address=cluster.address).fit(pd.DataFrame(X), y)
    finally:
        cluster.shutdown()
    assert [t.status for t in m.study_.trials] == ["ok", "ok"], [t.error for t in m.study_.trials]
    assert [t.metrics["n_jobs"] for t in m.study_.trials] == [2.0, 2.0]  # the worker node's two CPUs, not all three
