"""The volunteer's texts on the national list of polling places (2019 primaries, 14,888 places).

    .venv/bin/python bench/texts_national.py [--csv PATH] [--base-url https://fz.ar]

For every place, the texts that name the school are rendered as a volunteer would receive them
(a first name, the place's first table, its address, a short link of the given base URL) and
counted: the share that fits one GSM-7 segment, and the share that carries the full school name
(which must be 100%: a name is abbreviated with the field's ESC/COL/INST... only when that saves
a segment, and never cut). Reads ../shared/data/national/paso2019-escuelas.csv by default.
"""

import argparse
import csv
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CSV = ROOT.parent / "shared" / "data" / "national" / "paso2019-escuelas.csv"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--base-url", action="append", dest="base_urls")
    args = parser.parse_args()
    if not args.csv.exists():
        print(f"missing {args.csv}: the national list (see ../shared/data/national/README.md)", file=sys.stderr)
        return 2
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    import django

    django.setup()
    from backend.messaging.measure import KINDS_WITH_SCHOOL, example_link, measure

    with open(args.csv, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    print(
        f"{len(rows):,} polling places from {args.csv.name}; longest name {max(len(r['escuela']) for r in rows)} chars"
    )
    failed = False
    for base_url in args.base_urls or ["https://fz.ar", "https://fiscaliza.example.org"]:
        link = example_link(base_url)
        print(f"\nlinks like {link} ({len(link)} characters)")
        print(f"{'text':<22} {'one segment':>12} {'full name':>10} {'abbreviated':>12} {'longest':>8}")
        for kind in KINDS_WITH_SCHOOL:
            started = time.perf_counter()
            tally = measure(rows, kind=kind, link=link)
            elapsed = time.perf_counter() - started
            print(
                f"{kind:<22} {tally.share(tally.one_segment):>12.1%} {tally.share(tally.full_name):>10.1%}"
                f" {tally.share(tally.abbreviated):>12.1%} {tally.longest[0]:>8}   ({elapsed:.2f} s)"
            )
            if tally.full_name != tally.texts:
                failed = True
                print(f"  CUT: {tally.cut[:5]}")
    print("\ntarget: 100% of the texts carry the full school name:", "NOT MET" if failed else "met")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
