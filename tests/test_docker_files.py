"""docker/ stays in step with the code: files it copies exist, the commands it runs accept the flags it passes.

No Docker daemon runs in CI; what can rot without one (paths, CLI flags, the
job file, the auth settings Ray needs) is checked here.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml
from typer.testing import CliRunner

from automl.cli.app import app

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())


def command_of(service: str) -> list[str]:
    return shlex.split(COMPOSE["services"][service]["command"])


def test_dockerfile_copies_what_exists() -> None:
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    sources = [line.split()[1:-1] for line in dockerfile.splitlines() if line.startswith("COPY ")]
    assert sources
    for paths in sources:
        for path in paths:
            assert (ROOT / path).exists(), path
    assert '".[ray]"' in dockerfile  # the image must be able to join and serve a Ray cluster


def test_every_service_builds_the_image_and_shares_the_ray_token() -> None:
    build = COMPOSE["x-automl"]["build"]
    assert (ROOT / "docker" / build["context"] / build["dockerfile"]).resolve() == ROOT / "docker" / "Dockerfile"
    for name, service in COMPOSE["services"].items():
        assert service["environment"]["RAY_AUTH_MODE"] == "token", name
        assert "RAY_AUTH_TOKEN" in service["environment"], name


def test_tune_service_submits_an_existing_job_with_accepted_flags() -> None:
    args = command_of("tune")
    assert args[:2] == ["automl", "submit"]
    assert (ROOT / args[2]).is_file()
    help_text = CliRunner().invoke(app, ["submit", "--help"], terminal_width=200).output
    for flag in (a for a in args[3:] if a.startswith("--")):
        assert flag in help_text, flag
    assert args[args.index("--address") + 1] == "http://ray-head:8265"
    assert args[args.index("--tracking-uri") + 1] == "http://mlflow:5000"


def test_ray_and_mlflow_services_agree_on_ports() -> None:
    head, worker, mlflow = command_of("ray-head"), command_of("ray-worker"), command_of("mlflow")
    port = head[head.index("--port") + 1]
    assert worker[worker.index("--address") + 1] == f"ray-head:{port}"
    assert re.search(r":8265/api/healthz", str(COMPOSE["services"]["ray-head"]["healthcheck"]["test"]))
    assert mlflow[mlflow.index("--port") + 1] == "5000" and "--serve-artifacts" in mlflow
