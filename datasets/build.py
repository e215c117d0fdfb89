"""Compress the raw CSVs in this folder into panelre/datasets/data/*.csv.gz."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

HERE = Path(__file__).parent
TARGET = HERE.parent / "panelre" / "datasets" / "data"


def main() -> None:
    TARGET.mkdir(parents=True, exist_ok=True)
    for csv in sorted(HERE.glob("*.csv")):
        out = TARGET / (csv.name + ".gz")
        with csv.open("rb") as src, gzip.GzipFile(out, "wb", compresslevel=9, mtime=0) as dst:
            shutil.copyfileobj(src, dst)
        print(f"{csv.name} -> {out.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
