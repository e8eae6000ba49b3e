"""Loopback helpers for tests that start servers (Ray heads, the MLflow UI, an MLflow tracking server)."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from mlflow import MlflowClient

#: MLflow's switch for its server's job runner (GenAI judges, trace roll-ups: 8 processes automl never uses).
JOB_EXECUTION_ENV = "MLFLOW_SERVER_ENABLE_JOB_EXECUTION"


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
            env={**os.environ, JOB_EXECUTION_ENV: "false"},
        )
        deadline = time.monotonic() + wait_s
        while True:  # not MlflowClient: its retries back off for seconds after the server is up (13 s against 8 here)
            try:
                with urllib.request.urlopen(f"{self.uri}/health", timeout=2) as answer:
                    assert answer.status == 200
                break
            except OSError:  # not up yet
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise
                time.sleep(0.1)
        MlflowClient(self.uri).search_experiments()  # the tracking API answers too
        return self

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


class TcpProxy:
    """A loopback TCP proxy to ``port``, in a process of its own (threads in the test's process would compete for
    its interpreter lock with the job under test): :meth:`cut` makes the server unreachable at once, as a crash or a
    network partition looks to its clients (new connections refused, open ones reset), and :meth:`restore` brings it
    back on the same port in milliseconds, where restarting a real ``mlflow server`` takes 5 to 35 s here."""

    def __init__(self, port: int) -> None:
        self.port = free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        context = multiprocessing.get_context("spawn")
        self._commands, theirs = context.Pipe()
        self._process = context.Process(target=_serve_proxy, args=(port, self.port, theirs), daemon=True)
        self._process.start()
        assert self._commands.recv() == "up"

    def cut(self) -> None:
        self._command("cut")

    def restore(self) -> None:
        self._command("restore")

    def close(self) -> None:
        self._command("exit")
        self._process.join(timeout=10)

    def _command(self, name: str) -> None:
        self._commands.send(name)
        answer = self._commands.recv()
        if answer != "done":
            raise RuntimeError(f"the proxy could not {name}: {answer}")


def _serve_proxy(target: int, port: int, commands: Any) -> None:
    proxy = _Proxy(target, port)
    commands.send("up")
    while (command := commands.recv()) != "exit":
        try:
            proxy.cut() if command == "cut" else proxy.restore()
            commands.send("done")
        except OSError as exc:
            commands.send(str(exc))
    proxy.cut()
    commands.send("done")


class _Proxy:
    def __init__(self, target: int, port: int) -> None:
        self.target, self.port = target, port
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            doomed, self._open = self._open, set()
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept(), which holds the port
            listener.close()
        for sock in doomed:  # shut down first: a close alone does not wake the thread blocked in recv() on it
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # cut
                return
            try:
                server = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                client.close()
                continue
            for sock in (client, server):  # as the client and the server set theirs: no Nagle delays
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._open |= {client, server}
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            with self._lock:
                self._open -= {source, sink}
