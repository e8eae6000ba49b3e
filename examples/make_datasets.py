"""Write the example CSVs from scikit-learn's bundled datasets (no download).

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


if __name__ == "__main__":
    main()
