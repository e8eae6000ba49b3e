"""docker/ stays in step with the code: files it copies exist, the commands it runs accept the flags it passes.

No Docker daemon runs in CI; what can rot without one (paths, CLI flags, the
job file, the auth settings Ray needs, where secrets come from, what is published)
is checked here, and the MLflow service's own command is run for real on loopback.
"""

from __future__ import annotations

import base64
import os
import re
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml
from typer.testing import CliRunner

from automl.cli.app import app
from tests.loopback import free_port

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_TEXT = (ROOT / "docker" / "compose.yaml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
ENV_EXAMPLE = (ROOT / "docker" / ".env.example").read_text()
SECRETS = ("RAY_AUTH_TOKEN", "MLFLOW_ADMIN_PASSWORD", "MLFLOW_SECRET_KEY")


def command_of(service: str) -> list[str]:
    return shlex.split(COMPOSE["services"][service]["command"])


def test_dockerfile_copies_what_exists() -> None:
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    sources = [line.split()[1:-1] for line in dockerfile.splitlines() if line.startswith("COPY ")]
    assert sources
    for paths in sources:
        for path in paths:
            assert (ROOT / path).exists(), path
    assert '".[ray,server]"' in dockerfile  # join and serve a Ray cluster; run MLflow's basic-auth app
    assert 'server = ["mlflow[auth]' in (ROOT / "pyproject.toml").read_text()


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


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${NAME}, ${NAME:-default} and ${NAME:?error} (an unset or empty required one is an error)."""
    def one(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if env.get(name):
            return env[name]
        if op == ":?":
            raise KeyError(f"{name}: {arg}")
        return arg if op == ":-" else ""
    return re.sub(r"\$\{(\w+)(?:(:[-?])([^}]*))?\}", one, value)


def test_secrets_come_only_from_the_git_ignored_env_file_documented_by_env_example() -> None:
    used = set(re.findall(r"\$\{(\w+)", COMPOSE_TEXT))
    example = dict(line.split("=", 1) for line in ENV_EXAMPLE.splitlines() if re.match(r"^#? ?\w+=", line)
                   for line in [line.lstrip("# ")])
    assert used <= set(example), used - set(example)  # every variable compose reads is documented there
    for secret in SECRETS:
        assert re.search(rf"\$\{{{secret}:\?", COMPOSE_TEXT), secret  # required: compose refuses to start without it
        assert example[secret] == "", secret  # no placeholder that would work as a password
    ignored = subprocess.run(["git", "check-ignore", "-q", "docker/.env"], cwd=ROOT)
    assert ignored.returncode == 0  # docker/.env, where the secrets go, is git-ignored
    assert subprocess.run(["git", "check-ignore", "-q", "docker/.env.example"], cwd=ROOT).returncode == 1
    assert "cp docker/.env.example docker/.env" in COMPOSE_TEXT and "docker/.env.example" in (ROOT / "README.md").read_text()


def test_only_the_documented_ports_are_published_and_only_on_loopback() -> None:
    published = {name: service.get("ports", []) for name, service in COMPOSE["services"].items()}
    assert published == {"mlflow": ["127.0.0.1:5000:5000"], "ray-head": ["127.0.0.1:8265:8265"], "ray-worker": [],
                         "tune": []}
    header = COMPOSE_TEXT.split("x-automl:")[0]
    assert "only 127.0.0.1:5000 (MLflow) and 127.0.0.1:8265" in header
    readme = (ROOT / "README.md").read_text()
    assert "127.0.0.1:5000" in readme and "127.0.0.1:8265" in readme


def test_every_job_logs_in_to_mlflow_and_the_server_runs_basic_auth() -> None:
    for name, service in COMPOSE["services"].items():
        environment = service["environment"]
        assert environment["MLFLOW_TRACKING_URI"] == "http://mlflow:5000", name
        assert "MLFLOW_TRACKING_USERNAME" in environment and "MLFLOW_TRACKING_PASSWORD" in environment, name
    args = command_of("mlflow")
    assert args[args.index("--app-name") + 1] == "basic-auth"
    mount = next(v for v in COMPOSE["services"]["mlflow"]["volumes"] if v.startswith("./mlflow-auth.ini:"))
    assert (ROOT / "docker" / "mlflow-auth.ini").is_file()
    assert mount.split(":")[1] == COMPOSE["services"]["mlflow"]["environment"]["MLFLOW_AUTH_CONFIG_PATH"]


def test_the_mlflow_service_command_refuses_requests_without_the_password(tmp_path: Path) -> None:
    """The compose file's MLflow command and auth settings, run here: port 5000 -> a free one, /mlflow -> tmp_path."""
    port, password = free_port(), "a-test-password-of-some-length"
    secrets = {"RAY_AUTH_TOKEN": "token", "MLFLOW_ADMIN_PASSWORD": password, "MLFLOW_SECRET_KEY": "key"}
    service = COMPOSE["services"]["mlflow"]
    local = lambda text: text.replace("/mlflow/", f"{tmp_path}/").replace("5000", str(port))  # noqa: E731
    config = tmp_path / "auth.ini"
    config.write_text(local((ROOT / "docker" / "mlflow-auth.ini").read_text()))
    env = {k: interpolate(str(v), secrets) for k, v in service["environment"].items()}
    env["MLFLOW_AUTH_CONFIG_PATH"] = str(config)
    args = [local(a) for a in command_of("mlflow")]
    args[args.index("--host") + 1], args[args.index("--workers") + 1] = "127.0.0.1", "1"  # loopback; 2 cores here
    server = subprocess.Popen([sys.executable, "-m", *args], env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while status(f"{base}/health") != 200:  # the one open route: compose's health check
            assert server.poll() is None and time.monotonic() < deadline, "the MLflow server did not start"
            time.sleep(0.5)
        api = f"{base}/api/2.0/mlflow/experiments/search?max_results=1"
        assert status(api) == 401 and status(f"{base}/") == 401
        assert status(api, ("admin", "wrong-password")) == 401
        assert status(api, (env["MLFLOW_TRACKING_USERNAME"], env["MLFLOW_TRACKING_PASSWORD"])) == 200
        assert status(api, ("admin", password), host=f"mlflow:{port}") == 200  # the name the other services use
        assert status(api, ("admin", password), host=f"attacker.example:{port}") == 403  # DNS rebinding refused
    finally:
        server.terminate()
        server.wait(timeout=30)


def status(url: str, login: tuple[str, str] | None = None, host: str | None = None) -> int:
    request = urllib.request.Request(url)
    if login is not None:
        request.add_header("Authorization", "Basic " + base64.b64encode(":".join(login).encode()).decode())
    if host is not None:
        request.add_header("Host", host)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0
