"""Loopback helpers for tests that start servers (Ray heads, the MLflow UI, an MLflow tracking server)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from mlflow import MlflowClient


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MlflowServer:
    """A real ``mlflow server`` on loopback (SQLite behind it, artifacts served) that a test can kill and restart
    on the same port and store, as a crashed or redeployed tracking server would be."""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        self.folder, self.port = folder, port or free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, wait_s: float = 90.0) -> MlflowServer:
        """Start it and return once it answers."""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(self.port),
             "--backend-store-uri", f"sqlite:///{self.folder / 'server.db'}",
             "--artifacts-destination", str(self.folder / "artifacts"), "--workers", "1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        client, deadline = MlflowClient(self.uri), time.monotonic() + wait_s
        while True:
            try:
                client.search_experiments()
                return self
            except Exception:  # noqa: BLE001 - not up yet
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise
                time.sleep(0.25)

    def kill(self) -> None:
        """SIGKILL of the server and its workers, as a crash: nothing is flushed or answered."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        self.process = None


def ray_trial_workers() -> set[int]:
    """Processes of Ray trial workers on this machine (Ray titles them ray::TrialWorker)."""
    pids = set()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if cmdline.read_bytes().startswith(b"ray::TrialWorker"):
                pids.add(int(cmdline.parent.name))
        except OSError:  # the process ended while we looked
            continue
    return pids
