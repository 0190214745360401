"""Giving freed memory back to the system after a large import step.

calamine (Rust) and SQLite allocate through the C library's malloc; once a workbook's cells are
freed, glibc keeps most of those pages for reuse by malloc, but Python's own objects come from
separate arenas and never reuse them, so a long-lived worker's resident memory only grows. Asking
glibc to trim returns them at once (a few milliseconds). A no-op where the C library has no
malloc_trim (macOS, musl).
"""

from __future__ import annotations

import ctypes
import ctypes.util

_libc_name = ctypes.util.find_library("c")
try:
    _malloc_trim = ctypes.CDLL(_libc_name).malloc_trim if _libc_name else None
except (OSError, AttributeError):
    _malloc_trim = None


def release_freed_memory() -> None:
    """Return the C heap's free pages to the system (glibc's malloc_trim)."""
    if _malloc_trim is not None:
        _malloc_trim(0)
