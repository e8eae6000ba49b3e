"""Importing automl and fitting leave the user's process as it was: Optuna's verbosity, the root logger, the
environment, and numpy's, torch's and Python's global random states; and automl's own Optuna calls stay quiet.

Each check runs in a fresh interpreter, so modules this test session imported earlier hide nothing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from tests.job_files import job_folder
from tests.loopback import free_port

pytestmark = pytest.mark.slow

#: Prints the state before and after each step as one JSON line; the steps follow it.
PROBE = textwrap.dedent("""
    import hashlib, json, logging, os, pickle, random
    import numpy as np, optuna, torch
    import rich.style  # draws from Python's random when imported (by scikit-learn's model_selection), automl or not

    def digest(value):
        return hashlib.sha256(pickle.dumps(value)).hexdigest()[:16]

    def state():
        root = logging.getLogger()
        return {"optuna_verbosity": optuna.logging.get_verbosity(), "root_level": root.level,
                "root_handlers": [repr(h) for h in root.handlers], "environ": dict(os.environ),
                "numpy_rng": digest(np.random.get_state()), "torch_rng": digest(torch.get_rng_state().numpy()),
                "random_rng": digest(random.getstate()), "torch_threads": torch.get_num_threads()}

    states = {"before": state()}
""")

FIT = textwrap.dedent("""
    import automl, automl_dashboards
    states["after import"] = state()
    from sklearn.datasets import load_breast_cancer
    from automl import AutoML
    from automl_dashboards.importance import param_importance
    from automl_dashboards.record import trials_frame
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    AutoML(time_budget=None, max_trials=4, seed=0, estimators=["lr", "mlp"], strategy="tpe", early_stop="asha",
           eval_method="holdout", tracking=False, n_jobs=1).fit(X, y)
    states["after a tpe fit with asha"] = state()
    m = AutoML(time_budget=None, max_trials=8, seed=0, estimators=["lr"], strategy="blendsearch", early_stop=None,
               tracking=False, n_jobs=1).fit(X, y)
    states["after a blendsearch fit"] = state()  # FLAML's BlendSearch runs an Optuna study of its own
    importance = param_importance(trials_frame(m.study_.trials), "lr", maximize=True)
    assert importance, "no importance: the report's Optuna study was not exercised"
    states["after the report's importance"] = state()
""")


def run_probe(steps: str, cwd: Path, env: dict[str, str] | None = None) -> tuple[dict[str, dict], str]:
    """The states the probe and ``steps`` recorded, and everything else the interpreter wrote."""
    done = subprocess.run([sys.executable, "-c", PROBE + steps + "\nprint(json.dumps(states))"], cwd=cwd,
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    *printed, last = done.stdout.strip().splitlines()
    return json.loads(last), "\n".join(printed) + done.stderr


#: Set by automl's dependencies when imported or first used, whoever calls them; not automl's to undo.
DEPENDENCIES_ENV = {
    "KMP_DUPLICATE_LIB_OK", "KMP_INIT_AT_FORK",  # scikit-learn and threadpoolctl, at import
    "TORCHINDUCTOR_CACHE_DIR",  # torch, at the first optimiser made
    "RAY_CLIENT_MODE", "PYARROW_IGNORE_TIMEZONE", "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR",  # FLAML's import (ray.tune, ...)
    "_MLFLOW_TELEMETRY_SESSION_ID",  # mlflow, at import
}


def assert_unchanged(states: dict[str, dict], ignore: set[str] = frozenset()) -> None:
    before = states.pop("before")
    for step, after in states.items():
        changed = {k: (before[k], after[k]) for k in before if after[k] != before[k] and k not in ignore}
        if "environ" in changed:
            env_before, env_after = changed.pop("environ")
            env = {k: (env_before.get(k), env_after.get(k)) for k in {*env_before, *env_after} - DEPENDENCIES_ENV
                   if env_before.get(k) != env_after.get(k)}
            changed.update({"environ": env} if env else {})
        assert not changed, f"{step} changed {changed}"


def test_import_and_fit_leave_the_process_as_it_was_and_keep_optuna_quiet(tmp_path: Path) -> None:
    states, stderr = run_probe(FIT, tmp_path)
    assert states["before"]["optuna_verbosity"] == 20  # Optuna's own default, INFO: it prints every trial it is told
    assert_unchanged(states)
    assert not re.search(r"^\[I \d{4}-", stderr, re.MULTILINE), stderr[-3000:]  # Optuna's INFO lines: "[I 2026-... Trial 0 ..."


def test_the_tune_command_leaves_the_root_logger_alone(tmp_path: Path) -> None:
    job = job_folder(tmp_path, time_budget=None, max_trials=2, estimators=["lr"], n_concurrent_trials=1, tracking=False,
                     output=str(tmp_path / "model.pkl"))
    steps = textwrap.dedent(f"""
        import io, sys
        from typer.testing import CliRunner
        from automl.cli.app import app
        result = CliRunner().invoke(app, ["tune", {str(job)!r}, "--quiet"])
        assert result.exit_code == 0, result.output
        states["after automl tune"] = state()
        from automl.cli.logs import automl_warnings_on_stderr
        sys.stderr, real = io.StringIO(), sys.stderr
        with automl_warnings_on_stderr():  # what the command adds, and only for its duration
            logging.getLogger("automl.backends").warning("inside")
        logging.getLogger("automl.backends").warning("after")  # Python's last-resort handler: the bare message
        shown, sys.stderr = sys.stderr.getvalue(), real
        print("shown:", repr(shown))
    """)
    states, printed = run_probe(steps, tmp_path)
    assert_unchanged(states)
    assert "WARNING:automl.backends:inside" in printed and "WARNING:automl.backends:after" not in printed, printed


def test_joining_a_token_cluster_sets_ray_s_auth_mode_only_while_connected(tmp_path: Path) -> None:
    """A `ray start` head that wants a token: automl's probe finds out, it joins with RAY_AUTH_MODE=token (at once:
    a join without the token retried for 20 s), and takes it back on close."""
    port, token = free_port(), "0123456789abcdef0123456789abcdef"
    env = {k: v for k, v in os.environ.items() if k != "RAY_AUTH_MODE"} | {"RAY_AUTH_TOKEN": token}
    temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # Ray's socket paths must stay short
    head = subprocess.Popen([str(Path(sys.executable).with_name("ray")), "start", "--head", "--block",
                             "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=1", "--include-dashboard=false",
                             "--disable-usage-stats", f"--temp-dir={temp}"],
                            env=env | {"RAY_AUTH_MODE": "token"}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        wait_for_port(port)
        steps = textwrap.dedent(f"""
            import ray
            from ray._raylet import get_authentication_mode
            from automl.backends.ray_cluster import RaySession
            mode_before = get_authentication_mode()
            session = RaySession.connect("127.0.0.1:{port}")
            print("while connected:", os.environ.get("RAY_AUTH_MODE"))
            assert ray.get(ray.remote(lambda: 1 + 1).remote()) == 2
            session.close()
            print("Ray's auth mode before and after:", int(mode_before), int(get_authentication_mode()))
            states["after a session on a token cluster"] = state()
        """)
        states, stdout = run_probe(steps, tmp_path, env)
        assert "while connected: token" in stdout  # the token is what connected
        refusals = stdout.count("Failed to get cluster ID")  # Ray's warning, once per refused request
        assert refusals <= 1, stdout  # the probe's one question; no join without the token (20 s: 20 warnings)
        assert_unchanged(states, ignore={"random_rng"})  # a driver's ray.init draws from Python's random: Ray's own
        assert "Ray's auth mode before and after: 0 0" in stdout  # disabled again, as RAY_AUTH_MODE is unset again
    finally:
        os.killpg(head.pid, signal.SIGKILL)  # the head's processes: `ray start` and its children, nothing else
        head.wait(timeout=60)
        shutil.rmtree(temp, ignore_errors=True)


def test_a_local_ray_session_puts_back_what_ray_s_start_set(tmp_path: Path) -> None:
    """Ray's local start sets RAY_AUTH_MODE, RAY_USAGE_STATS_ENABLED and PYTHONBREAKPOINT; closing the session unsets them."""
    steps = textwrap.dedent("""
        import ray
        from ray._raylet import get_authentication_mode
        from automl.backends.ray_cluster import RaySession
        mode_before = get_authentication_mode()
        session = RaySession.connect(None)
        print("while connected:", os.environ.get("RAY_AUTH_MODE"), os.environ.get("PYTHONBREAKPOINT"))
        session.close()
        print("Ray's auth mode before and after:", int(mode_before), int(get_authentication_mode()))
        states["after a local Ray session"] = state()
    """)
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_AUTH_MODE", "RAY_USAGE_STATS_ENABLED", "PYTHONBREAKPOINT")}
    states, printed = run_probe(steps, tmp_path, env)
    assert "while connected: token ray.util.rpdb._driver_set_trace" in printed, printed[-3000:]  # what Ray set
    assert_unchanged(states, ignore={"random_rng"})
    assert "Ray's auth mode before and after: 0 0" in printed


def wait_for_port(port: int, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
