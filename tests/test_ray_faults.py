"""Faults on a real multi-node local Ray cluster: killed workers and a removed node lose no finished work."""

from __future__ import annotations

import os
import signal

import pandas as pd
import pytest
import ray
from mlflow import MlflowClient
from ray.cluster_utils import Cluster
from sklearn.datasets import make_classification

from automl import AutoML
from tests.loopback import ray_trial_workers

pytestmark = pytest.mark.slow


@pytest.fixture
def cluster() -> Cluster:
    """A head node (1 CPU) and a worker node (2 CPUs) on loopback, as separate raylets."""
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    c.add_node(num_cpus=2)
    c.wait_for_nodes()
    yield c
    c.shutdown()


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    """Large enough that a single-thread forest trial takes a second or so, long enough to be killed mid-way."""
    X, y = make_classification(n_samples=12_000, n_features=20, random_state=0)
    return pd.DataFrame(X).add_prefix("x"), pd.Series(y)


#: Forests of 20-40 trees with at most 512 leaves: about one second per single-thread trial here.
RF_SPACE = {"rf": {"n_estimators": {"low": 20, "high": 40, "default": 30, "low_cost": 20},
                   "max_leaves": {"low": 64, "high": 512, "default": 256, "low_cost": 64}}}


def kill_a_busy_worker_once() -> tuple[list[int], object]:
    """A callback that, when the first trial ends, SIGKILLs another worker (busy with its own trial)."""
    killed: list[int] = []

    def callback(study: object, trial: object) -> None:
        if killed:
            return
        idle = int(trial.worker.split("@")[0])
        busy = sorted(ray_trial_workers() - {idle})
        os.kill(busy[0], signal.SIGKILL)
        killed.append(busy[0])

    return killed, callback


def tuned(cluster: Cluster, data, **kwargs: object) -> AutoML:
    params = {"time_budget": None, "max_trials": 7, "seed": 0, "estimators": ["rf"], "early_stop": None, "search_space": RF_SPACE,
              "eval_method": "holdout", "backend": "ray", "ray_address": cluster.address,
              "n_concurrent_trials": 3, "resources_per_trial": {"cpu": 1}, "tracking": False}
    params.update(kwargs)
    return AutoML(**params).fit(*data)  # type: ignore[arg-type]


def test_a_killed_worker_fails_its_trial_and_the_job_goes_on(cluster, data, tracking_uri: str, experiment: str) -> None:
    killed, callback = kill_a_busy_worker_once()
    m = tuned(cluster, data, callbacks=[callback], trial_retries=0, tracking=True, tracking_uri=tracking_uri,
              experiment=experiment)
    trials = m.study_.trials
    assert killed and len(trials) == 7
    failed = [t for t in trials if t.status == "failed"]
    assert len(failed) == 1 and f"worker {killed[0]}@" in failed[0].error and "died during the trial" in failed[0].error
    assert all(t.retries == 0 for t in trials)
    assert all(t.status == "ok" for t in trials if t is not failed[0])
    assert all(not t.worker.startswith(f"{killed[0]}@") for t in trials if t.trial_id > failed[0].trial_id)
    client = MlflowClient(tracking_uri)
    runs = client.search_runs([client.get_experiment_by_name(experiment).experiment_id], "tags.`automl.role` = 'trial'")
    assert sorted(int(r.data.tags["automl.trial_id"]) for r in runs) == list(range(7))
    assert next(r for r in runs if r.data.tags["automl.trial_id"] == str(failed[0].trial_id)).data.tags["automl.status"] == "failed"


def test_a_killed_worker_s_trial_is_retried_when_asked(cluster, data) -> None:
    killed, callback = kill_a_busy_worker_once()
    m = tuned(cluster, data, callbacks=[callback], trial_retries=1)
    assert killed and len(m.study_.trials) == 7
    assert all(t.status == "ok" for t in m.study_.trials), [t.error for t in m.study_.trials]
    assert [t.retries for t in m.study_.trials].count(1) == 1 and sum(t.retries for t in m.study_.trials) == 1
    assert all(not t.worker.startswith(f"{killed[0]}@") for t in m.study_.trials)  # the killed attempt was run again


def test_losing_a_node_keeps_every_finished_trial(cluster, data) -> None:
    worker_node = next(iter(cluster.worker_nodes))
    removed: list[bool] = []

    def remove_node_once(study: object, trial: object) -> None:
        if not removed:
            cluster.remove_node(worker_node)
            removed.append(True)

    m = tuned(cluster, data, callbacks=[remove_node_once], trial_retries=1, max_trials=6)
    trials = m.study_.trials
    assert removed and len(trials) == 6
    assert all(t.status == "ok" for t in trials), [t.error for t in trials]
    # When the first trial ended, two others were running and at least one on the removed node: it ran again.
    assert sum(t.retries for t in trials) >= 1
