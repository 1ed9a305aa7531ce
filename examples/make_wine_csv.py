"""Write scikit-learn's wine data, standardized, to wine.csv next to this script."""

from pathlib import Path

from sklearn.datasets import load_wine

data = load_wine()
X = (data.data - data.data.mean(axis=0)) / data.data.std(axis=0)
names = [n.replace("/", "_") for n in data.feature_names]
path = Path(__file__).resolve().parent / "wine.csv"
with open(path, "w") as fh:
    fh.write(",".join([*names, "cultivar"]) + "\n")
    fh.writelines(
        ",".join(f"{v:.6g}" for v in row) + f",{label}\n" for row, label in zip(X, data.target)
    )
print(f"wrote {path} ({len(X)} rows)")
