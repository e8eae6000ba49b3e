"""Trackers: MLflow (the default) and a null tracker."""

from __future__ import annotations

from automl.tracking.base import NullTracker, Tracker


def make_tracker(tracking: bool, tracking_uri: str | None, experiment: str | None) -> Tracker:
    """The MLflow tracker when ``tracking`` is on, else a tracker that records nothing."""
    if not tracking:
        return NullTracker()
    from automl.tracking.mlflow_tracker import MlflowTracker

    return MlflowTracker(tracking_uri=tracking_uri, experiment=experiment)


__all__ = ["NullTracker", "Tracker", "make_tracker"]
