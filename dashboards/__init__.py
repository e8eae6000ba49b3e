"""Review layouts for automl jobs: the self-contained HTML job report (``render_report``).

Shipped as the package ``automl_dashboards``, beside the core and outside its
import path: the core never imports it; the MLflow writer and ``automl report``
do, to turn a job's record into a page.
"""

from automl_dashboards.record import JobRecord, feature_importance, record_from_automl, trials_frame
from automl_dashboards.report import render_report

__all__ = ["JobRecord", "feature_importance", "record_from_automl", "render_report", "trials_frame"]
