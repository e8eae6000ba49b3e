"""Write the example CSVs from datasets bundled in PyPI packages (no download): scikit-learn's, and the monthly
airline passengers 1949-1960 shipped in statsforecast (for the forecasting example).

    python examples/make_datasets.py
"""

from __future__ import annotations

from pathlib import Path

from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

HERE = Path(__file__).parent / "data"


def main() -> None:
    HERE.mkdir(exist_ok=True)
    for name, loader in (("breast_cancer", load_breast_cancer), ("diabetes", load_diabetes), ("wine", load_wine)):
        frame = loader(as_frame=True).frame
        if name == "wine":
            names = load_wine().target_names
            frame["target"] = [str(names[i]) for i in frame["target"]]
        frame.round(6).to_csv(HERE / f"{name}.csv", index=False)
    from statsforecast.utils import AirPassengersDF

    air = AirPassengersDF.rename(columns={"y": "passengers"})[["ds", "passengers"]]
    air.assign(ds=air["ds"].dt.strftime("%Y-%m-%d")).to_csv(HERE / "air_passengers.csv", index=False)


if __name__ == "__main__":
    main()
