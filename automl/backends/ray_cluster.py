"""Connecting to Ray and fitting the trials' resources to the cluster (one of the modules importing ray)."""

from __future__ import annotations

import logging
import math
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from automl.cpus import available_cpus
from automl.errors import AutoMLError, InputError

logger = logging.getLogger(__name__)
INSTALL_HINT = "backend='ray' needs Ray; install it with: pip install 'automl[ray]'."
#: Ray's switch for token authentication; Ray's local start sets it, and so does ``_join`` for a cluster that wants a token.
AUTH_MODE = "RAY_AUTH_MODE"


def import_ray() -> ModuleType:
    try:
        import ray
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise AutoMLError(INSTALL_HINT) from exc
    return ray


@dataclass
class RaySession:
    """A connection to Ray; ``started`` when this job started a local instance, ``owned`` when it connected.

    Closing undoes what connecting did: stop the local instance, or disconnect
    from a joined cluster, and put back the environment variables connecting
    set (``RAY_AUTH_MODE`` from Ray's local start or a token cluster's retry,
    ``PYTHONBREAKPOINT``, ``RAY_USAGE_STATS_ENABLED``). Ray needs ``RAY_AUTH_MODE``
    only to connect (a live connection works on without it); they all stay set
    while connected so that the process (``breakpoint()``, a ``ray`` command run
    meanwhile) sees what Ray set. A Ray session the caller opened is left alone.
    """

    address: str
    started: bool
    connect_s: float
    owned: bool = True
    env_changes: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)  # name: (before, after)

    @classmethod
    def connect(cls, address: str | None) -> "RaySession":
        """Join ``address`` ("auto", host:port, ray://...; default ``RAY_ADDRESS``), reuse this process's Ray, or start one."""
        ray = import_ray()
        began = time.monotonic()
        if ray.is_initialized():
            if address is not None:
                logger.warning("Ray is already initialised in this process; running on it and ignoring ray_address=%r.", address)
            return cls(ray.get_runtime_context().gcs_address, False, 0.0, owned=False)
        address = address or os.environ.get("RAY_ADDRESS")  # set for drivers of Ray jobs (`automl submit`)
        env_before = dict(os.environ)
        try:
            if address is None:  # "local": a new instance even where a `ray start` cluster runs (ray.init() would join it)
                # Ray would count every core of the machine (within a cgroup quota, rounded down), ignoring the affinity.
                ray.init(address="local", num_cpus=available_cpus(), include_dashboard=False, log_to_driver=False,
                         configure_logging=False)
            else:
                _join(ray, address)
        except BaseException as exc:
            _undo(_env_changes(env_before))  # e.g. a failed token retry
            if not isinstance(exc, (ConnectionError, RuntimeError, ValueError)):
                raise
            reason = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
            if address is None:
                raise AutoMLError(f"Could not start a local Ray instance ({reason}); check `ray start --head` works "
                                  "here, or use backend='inprocess'.") from exc
            raise InputError(
                f"ray_address={address!r}: could not connect to a Ray cluster ({reason}); start one with "
                "`ray start --head` or pass ray_address=None for a local instance."
            ) from exc
        session = cls(ray.get_runtime_context().gcs_address, address is None, time.monotonic() - began,
                      env_changes=_env_changes(env_before))
        logger.info("Ray %s at %s in %.1fs", "started" if session.started else "joined", session.address, session.connect_s)
        return session

    @property
    def close_reserve_s(self) -> float:
        """Seconds to keep at the end of the search for closing: stopping Ray (1.3 s measured on 2 cores) or
        disconnecting (0.3 s), plus the logging after it, which runs slower while Ray's processes wind down."""
        return 2.0 if self.started else 1.0 if self.owned else 0.5

    def close(self) -> None:
        if self.owned:
            import_ray().shutdown()
            _undo(self.env_changes)


def _env_changes(before: dict[str, str]) -> dict[str, tuple[str | None, str | None]]:
    """The environment variables that differ from ``before``: name -> (value before, value now); None: unset."""
    names = before.keys() | os.environ.keys()
    return {k: (before.get(k), os.environ.get(k)) for k in names if before.get(k) != os.environ.get(k)}


def _undo(changes: dict[str, tuple[str | None, str | None]]) -> None:
    """Put back each variable that still has the value the change left (one changed since is not ours to undo)."""
    undone = [name for name, (_, after) in changes.items() if os.environ.get(name) == after]
    for name in undone:
        _set_env(name, changes[name][0])
    if AUTH_MODE in undone:
        _reread_auth_mode()


def _set_auth_mode(value: str) -> None:
    _set_env(AUTH_MODE, value)
    _reread_auth_mode()


def _set_env(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def _reread_auth_mode() -> None:
    """Ray reads ``RAY_AUTH_MODE`` into its config when imported, not at ``ray.init``: have it read it again (what
    Ray's own token setup does after setting it)."""
    from ray._raylet import Config

    Config.initialize("")


def _join(ray: ModuleType, address: str) -> None:
    """Join a running cluster; clusters started by ``ray start`` (Ray >= 2.59) want the local token."""
    _check_reachable(address)
    if not os.environ.get(AUTH_MODE) and local_ray_token() is not None and _wants_token(ray, address):
        logger.info("%s wants token authentication: joining with RAY_AUTH_MODE=token.", address)
        _set_auth_mode("token")  # until the session closes
    try:
        ray.init(address=address, log_to_driver=False, configure_logging=False)
    except ConnectionError:  # reachable but refused: the cluster may want a token (where the probe could not tell)
        if os.environ.get(AUTH_MODE) or local_ray_token() is None:
            raise
        logger.info("Retrying the connection to %s with token authentication (RAY_AUTH_MODE=token).", address)
        _set_auth_mode("token")  # until the session closes
        ray.init(address=address, log_to_driver=False, configure_logging=False)


def _wants_token(ray: ModuleType, address: str) -> bool:
    """Whether the cluster at ``address`` refuses a request without a token: one request to its GCS, answered in
    10 ms, where a join without the token retries for 20 s (printing a warning a second) before it fails. False
    where the probe cannot tell (an address Ray resolves itself, another Ray version): the join then finds out."""
    try:
        from ray._raylet import GcsClient  # private: guarded

        GcsClient(address=address).internal_kv_get(b"session_name", b"session", timeout=5)
    except ray.exceptions.AuthenticationError:
        return True
    except Exception:  # noqa: BLE001 - no answer from the probe: the join decides
        return False
    return False


def local_ray_token() -> str | None:
    """This machine's Ray token, where Ray itself looks: RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH, ~/.ray/auth_token."""
    if os.environ.get("RAY_AUTH_TOKEN", "").strip():
        return os.environ["RAY_AUTH_TOKEN"].strip()
    path = Path(os.environ.get("RAY_AUTH_TOKEN_PATH") or Path.home() / ".ray" / "auth_token")
    return path.read_text().strip() if path.is_file() else None


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """A host:port nobody listens on fails in seconds here; Ray itself would retry for minutes."""
    host, sep, port = address.rpartition(":")
    if not sep or "://" in address or not port.isdigit():
        return  # "auto", ray://... : Ray resolves those itself
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise ConnectionError(f"nothing answers at {address} ({exc.strerror or exc})") from exc


@dataclass(frozen=True)
class TrialResources:
    """What one trial's worker reserves, and how many such workers run at once."""

    cpu: float
    gpu: float
    n_concurrent: int

    @property
    def threads(self) -> int:
        """Threads a trial uses: its CPUs, at least one."""
        return max(1, int(math.floor(self.cpu)))

    def actor_options(self) -> dict[str, Any]:
        return {"num_cpus": self.cpu, "num_gpus": self.gpu}


def plan_resources(requested: dict[str, float], n_concurrent: int, nodes: list[dict[str, float]]) -> TrialResources:
    """Resources per trial checked against the cluster's ``nodes`` (each node's resource totals).

    Without a CPU request each trial gets an equal share of the cluster's CPUs:
    the most whole CPUs per trial with which ``n_concurrent`` trials fit on the
    nodes together (on one node, its CPUs divided by the concurrency). A request
    no node can satisfy is an error up front (Ray would leave the trial PENDING
    forever); more concurrent trials than the cluster can hold are capped, with
    a warning.
    """
    total_cpu = sum(n.get("CPU", 0.0) for n in nodes)
    total_gpu = sum(n.get("GPU", 0.0) for n in nodes)
    gpu = float(requested.get("gpu", 0.0))
    cpu = float(requested["cpu"]) if "cpu" in requested else _cpu_share(nodes, n_concurrent, gpu)
    if gpu > 0 and total_gpu == 0:
        raise InputError(
            f"resources_per_trial={requested!r} asks for a GPU but the Ray cluster has none "
            f"(resources: {total_cpu:g} CPU, 0 GPU); remove 'gpu' or join a cluster with GPUs via ray_address."
        )
    fits = [n for n in nodes if n.get("CPU", 0.0) >= cpu and n.get("GPU", 0.0) >= gpu]
    if not fits:
        cpus, gpus = max(n.get("CPU", 0.0) for n in nodes), max(n.get("GPU", 0.0) for n in nodes)
        raise InputError(
            f"resources_per_trial={requested!r} does not fit on any Ray node (the largest have {cpus:g} CPU "
            f"and {gpus:g} GPU); ask for less per trial."
        )
    capacity = sum(_slots(n, cpu, gpu) for n in fits)
    if n_concurrent > capacity:
        logger.warning("n_concurrent_trials=%d but the cluster holds %d trials of %s; running %d at a time.",
                       n_concurrent, capacity, requested or {"cpu": cpu}, capacity)
    return TrialResources(cpu, gpu, min(n_concurrent, capacity))


def _cpu_share(nodes: list[dict[str, float]], n_concurrent: int, gpu: float) -> float:
    """Whole CPUs per trial: the most with which ``n_concurrent`` trials fit on the nodes (where fewer fit at any
    size, the most with which as many as possible fit); at least 1, never more than one node has."""
    largest = max((n.get("CPU", 0.0) for n in nodes if n.get("GPU", 0.0) >= gpu), default=0.0)
    sizes = range(1, max(1, math.floor(largest + 1e-9)) + 1)
    return float(max(sizes, key=lambda cpu: (min(n_concurrent, sum(_slots(n, cpu, gpu) for n in nodes)), cpu)))


def _slots(node: dict[str, float], cpu: float, gpu: float) -> int:
    by_cpu = math.floor(node.get("CPU", 0.0) / cpu + 1e-9) if cpu > 0 else math.inf
    by_gpu = math.floor(node.get("GPU", 0.0) / gpu + 1e-9) if gpu > 0 else math.inf
    slots = min(by_cpu, by_gpu)
    return 1_000_000 if slots == math.inf else int(slots)


def node_resources() -> list[dict[str, float]]:
    """Resource totals of the cluster's live nodes."""
    return [dict(n["Resources"]) for n in import_ray().nodes() if n.get("Alive")]
