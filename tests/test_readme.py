"""Every snippet the README shows runs, so the README cannot rot: its first command on the shipped job, each
Python block, each flag of each CLI example, the MLflow filter; and each example job end to end."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from sklearn.datasets import load_breast_cancer

import automl
import automl.api
from automl.cli.app import app
from automl.svmlight import read_svmlight
from tests.conftest import REPO
from tests.test_cli import cli

README = (REPO / "README.md").read_text()
#: Seconds each fit of a README snippet gets here (the README's own budgets are for a user's machine). The rank
#: snippet's job spends about 0.9 s before its first trial and keeps 1.5 s for MLflow at the end: at 3 s, a CI
#: machine running twice as slow started no trial, so it gets RANK_SNIPPET_BUDGET.
SNIPPET_BUDGET = 3
RANK_SNIPPET_BUDGET = 5


def blocks(language: str) -> list[str]:
    """The README's fenced code blocks in ``language``, in order."""
    return re.findall(rf"^```{language}\n(.*?)^```", README, re.S | re.M)


def automl_commands() -> list[list[str]]:
    """Every ``automl ...`` command of the README's bash blocks (comments dropped), as tokens."""
    commands = []
    for block in blocks("bash"):
        for line in block.splitlines():
            line = line.split("  #")[0]
            for part in line.split("&&"):
                tokens = shlex.split(part.replace("[", "").replace("]", ""))
                if tokens and tokens[0] == "automl":
                    commands.append(tokens[1:])
    return commands


def test_the_first_command_runs_the_shipped_job(tmp_path: Path) -> None:
    """The README opens with the install and `automl tune examples/breast_cancer.yaml`, run here as shipped (from a
    copy of examples/, whose job writes ../model.pkl) at a short budget."""
    first = blocks("bash")[0].strip()
    assert first.endswith("pip install -e . && automl tune examples/breast_cancer.yaml"), first
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    result = cli("tune", "examples/breast_cancer.yaml", "--time-budget", "4", "--tracking-uri",
                 f"sqlite:///{tmp_path / 'mlflow.db'}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert re.search(r"Test roc_auc: 0\.9\d+ on 114 rows", result.stdout), result.stdout
    assert (tmp_path / "model.pkl").is_file() and "MLflow run id:" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("job", ["diabetes_regression.yaml", "wine_multiclass.yaml"])
def test_the_other_example_jobs_run_end_to_end(job: str, tmp_path: Path) -> None:
    """examples/ jobs not run elsewhere (breast cancer above; forecast and rank in their own CLI tests)."""
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    result = cli("tune", f"examples/{job}", "--time-budget", "3", "--no-tracking", "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert re.search(r"Test \w+: -?\d+\.\d+ on \d+ rows", result.stdout), result.stdout


def test_every_cli_example_uses_real_commands_and_flags() -> None:
    commands = automl_commands()
    assert len(commands) >= 15
    group = typer.main.get_command(app)
    for tokens in commands:
        if tokens == ["--version"]:
            continue
        command, names = group, list(tokens)
        while names and hasattr(command, "commands") and names[0] in command.commands:  # "spaces list"
            command = command.commands[names.pop(0)]
        assert command is not group, f"`automl {' '.join(tokens)}`: no such command"
        known = {opt for param in command.params for opt in param.opts + param.secondary_opts}
        unknown = [t for t in names if t.startswith("--") and t not in known]
        assert not unknown, f"`automl {' '.join(tokens)}`: unknown flag(s) {unknown}"
    result = cli("--version", cwd=REPO)
    assert result.returncode == 0 and re.fullmatch(r"automl \d+\.\d+\.\d+\n", result.stdout)


class SnippetAutoML(automl.api.AutoML):
    """AutoML whose fit cuts the README's time budgets to SNIPPET_BUDGET seconds (a ranking job's to
    RANK_SNIPPET_BUDGET): the snippet's code runs as written."""

    def fit(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.time_budget is not None:
            ranking = str(getattr(self.task, "kind", self.task)) in ("rank", "ranking")
            self.time_budget = min(self.time_budget, RANK_SNIPPET_BUDGET if ranking else SNIPPET_BUDGET)
        return super().fit(*args, **kwargs)


@pytest.fixture
def snippet_namespace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """The names the README's Python blocks use, from the shipped data; MLflow in a store of this test's own."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(automl, "AutoML", SnippetAutoML)  # what `from automl import AutoML` returns
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    series = pd.read_csv(REPO / "examples" / "data" / "air_passengers.csv", parse_dates=["ds"])
    ranking = read_svmlight(REPO / "examples" / "data" / "rank.train")
    queries = ranking.pop("qid").to_numpy()
    test_queries = np.isin(queries, np.unique(queries)[:15])
    labels = ranking.pop("label")
    from scipy import sparse
    from sklearn.preprocessing import OneHotEncoder

    return {
        "AutoML": SnippetAutoML, "X_train": X.iloc[:450], "y_train": y.iloc[:450], "X_test": X.iloc[450:],
        "y_test": y.iloc[450:], "X_one_hot": OneHotEncoder().fit_transform(X.round(0)), "y": y,
        "forecast": (series.iloc[:-24][["ds"]], series.iloc[:-24].passengers, series.iloc[-24:][["ds"]],
                     series.iloc[-24:].passengers),
        "rank": (ranking[~test_queries], labels[~test_queries], queries[~test_queries], ranking[test_queries],
                 labels[test_queries], queries[test_queries]), "sparse": sparse,
    }


@pytest.mark.slow
def test_every_python_block_runs(snippet_namespace: dict[str, object]) -> None:
    python = blocks("python")
    assert len(python) >= 6
    for block in python:
        names = dict(snippet_namespace)
        if "task=\"forecast\"" in block:
            names.update(zip(("X_train", "y_train", "X_future", "y_future"), names["forecast"]))  # type: ignore[arg-type]
        if "task=\"rank\"" in block:
            names.update(zip(("X_train", "y_train", "query_ids", "X_test", "y_test", "test_query_ids"),
                             names["rank"]))  # type: ignore[arg-type]
        exec(compile(block, "README.md", "exec"), names)  # noqa: S102 - the README's own code
        if "mlflow.search_runs" in block:  # the filter finds the lgbm trials the first block's job recorded
            import mlflow

            found = mlflow.search_runs(experiment_names=["automl"], filter_string=re.search(
                r'filter_string="(.*?)"', block).group(1))
            assert len(found) > 0 and set(found["tags.automl.estimator"]) == {"lgbm"}
