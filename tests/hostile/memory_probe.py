"""Open a spreadsheet the way an import does and report the peak memory it took, in a fresh process.

`python -m tests.hostile.memory_probe <file>` prints JSON: the error code ("" when the file was
read), the rows read, and the peak resident memory above the process's baseline (the baseline is
taken after Django is set up and the file's bytes are in memory, as in the web process). Django
is configured bare (no apps, the reading budgets at their defaults) so a probe starts in a blink.
"""

from __future__ import annotations

import json
import os
import resource
import sys


def main(path: str) -> None:
    import django
    from django.conf import settings

    settings.configure(USE_I18N=False, INSTALLED_APPS=[])
    django.setup()
    import python_calamine  # noqa: F401  (loaded by the web process too; not part of the file's cost)

    from backend.core.exceptions import ApplicationError
    from backend.core.spreadsheets import open_sheet

    with open(path, "rb") as handle:
        data = handle.read()
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    code, rows = "", 0
    try:
        sheet = open_sheet(data, filename=os.path.basename(path))
        for _row in sheet.rows():
            rows += 1
    except ApplicationError as exc:
        code = exc.code
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"code": code, "rows": rows, "peak_mb": round((peak - baseline) / 1024, 1)}))


if __name__ == "__main__":
    main(sys.argv[1])
