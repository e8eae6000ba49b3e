"""Time-series forecasting parts: the series' calendars, the feature frame, backtest windows, forecasters, intervals.

The forecast task (``automl.tasks.forecast``) plugs these into the core: rows stay the user's rows, each
mapped to its series and its step (the position of its timestamp in the series' own calendar), and a
forecaster is fitted on the rows of a series' history and predicts the rows of its future.
"""
