"""The job report and the MLflow UI in a real headless Chromium: charts render, no JavaScript errors.

Debian's chromium and chromium-driver are installed here when missing (CI
machines start without them). Screenshots go to a temporary folder; with
AUTOML_SCREENSHOTS=docs/screenshots they refresh the ones kept in the docs.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from automl import AutoML
from tests.conftest import REPO
from tests.loopback import free_port

pytestmark = pytest.mark.slow
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def ensure_chromium() -> None:
    """Install Debian's chromium and chromium-driver if missing; fail (not skip) when that is impossible."""
    if Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists():
        return
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        pytest.fail("the browser tests need Debian's chromium and chromium-driver: apt-get install chromium chromium-driver")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [apt, "install", "-y", "-q", "--no-install-recommends", "chromium", "chromium-driver"]
    if subprocess.run(install, env=env, capture_output=True, timeout=900).returncode != 0:
        subprocess.run([apt, "update", "-q"], env=env, capture_output=True, timeout=600, check=True)
        subprocess.run(install, env=env, capture_output=True, timeout=900, check=True)


@pytest.fixture(scope="module")
def browser():
    ensure_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--enable-unsafe-swiftshader",
                 "--disable-background-networking", "--disable-extensions", "--window-size=1280,1600"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)  # the local driver: no download
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def job(breast_cancer: tuple[pd.DataFrame, pd.Series], tracking_uri: str) -> AutoML:
    X, y = breast_cancer
    return AutoML(time_budget=None, max_trials=30, seed=1, eval_method="holdout", n_jobs=1, tracking_uri=tracking_uri,
                  experiment="browser", estimators=["lgbm", "xgboost", "rf", "lr"]).fit(X, y)



def screenshot_folder(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("AUTOML_SCREENSHOTS") or tmp_path)
    folder = folder if folder.is_absolute() else REPO / folder
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def not_blank(png: Path) -> bool:
    """More than 3% of the pixels differ from the most common colour, in more than 50 colours."""
    from collections import Counter

    from PIL import Image

    counts = Counter(Image.open(png).convert("RGB").resize((320, 400)).getdata())
    total = sum(counts.values())
    return len(counts) > 50 and counts.most_common(1)[0][1] < 0.97 * total


def javascript_errors(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def wait_for(driver, script: str, timeout: float = 60.0) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for: {script}")


@pytest.fixture
def served(tmp_path: Path):
    """A loopback HTTP server for ``tmp_path`` (the report as a reader would fetch it)."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_report_renders_every_chart_without_errors(browser, job: AutoML, tracking_uri: str, served: str, tmp_path: Path) -> None:
    from mlflow import MlflowClient

    MlflowClient(tracking_uri).download_artifacts(job.mlflow_run_id_, "report.html", str(tmp_path))
    expected = len(re.findall(r'class="plotly-graph-div"', (tmp_path / "report.html").read_text()))
    browser.get_log("browser")  # start from a clean console
    browser.get(f"{served}/report.html")
    rendered = wait_for(browser, f"return document.querySelectorAll('.plotly-graph-div .main-svg').length >= {expected} && "
                                 "document.querySelectorAll('.plotly-graph-div .main-svg').length")
    assert expected >= 7 and rendered >= expected
    assert browser.execute_script("return document.querySelectorAll('.parcoords .axis').length") > 0  # WebGL parcoords drew
    log_axes = browser.execute_script(  # parameters the spaces search on a log scale, drawn on log axes
        "return [...document.querySelectorAll('.parcoords text')].map(t => t.textContent).filter(t => t.endsWith('(log)'))")
    assert "C (log)" in log_axes, log_axes  # lr: 19 of the 30 trials finished, C on a log scale
    assert browser.execute_script("return document.querySelectorAll('.plotly .point, .plotly .bars path').length") > 50
    assert javascript_errors(browser) == []
    folder = screenshot_folder(tmp_path)
    for name, section in (("report-progress.png", "progress"), ("report-hyperparameters.png", "hyperparameters"),
                          ("report-early-stopping.png", "early-stopping")):
        browser.execute_script(f"document.getElementById('{section}').scrollIntoView()")
        time.sleep(0.5)
        browser.save_screenshot(str(folder / name))
        assert not_blank(folder / name), name


def test_mlflow_ui_shows_the_job_and_its_report_artifact(browser, job: AutoML, tracking_uri: str, tmp_path: Path) -> None:
    port = free_port()
    ui = subprocess.Popen(
        [sys.executable, "-m", "automl", "ui", "--tracking-uri", tracking_uri, "--run-id", job.mlflow_run_id_, "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    try:
        url = re.search(r"MLflow UI: (\S+)", ui.stdout.readline()).group(1)
        assert url.endswith(f"/runs/{job.mlflow_run_id_}")
        deadline = time.monotonic() + 90
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the MLflow UI did not start"
                time.sleep(0.5)
        browser.get_log("browser")
        browser.get(url)
        wait_for(browser, "return document.body.innerText.includes('automl-binary-tpe')")  # the job's run name
        assert "best_score" in wait_for(browser, "return document.body.innerText.includes('best_score') && document.body.innerText")
        browser.get(f"{url}/artifacts/report.html")
        wait_for(browser, "return document.querySelectorAll('iframe').length > 0")
        uncaught = [m for m in javascript_errors(browser) if "Uncaught" in m]
        assert uncaught == []
        time.sleep(2)
        folder = screenshot_folder(tmp_path)
        browser.save_screenshot(str(folder / "mlflow-report-artifact.png"))
        assert not_blank(folder / "mlflow-report-artifact.png")
    finally:
        os.killpg(ui.pid, signal.SIGTERM)
        ui.wait(timeout=30)
