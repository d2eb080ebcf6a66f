"""Keep the garbage collector off the objects a long-running process starts with.

CPython's full (generation 2) collection walks every tracked object. In a web worker that is
all of Django, DRF and the URLconf: about 100-125 ms measured, during which none of the
worker's threads runs, so every request in flight waits (docs/performance.md). ``gc.freeze()``
moves everything alive now into a permanent generation the collector never scans; objects
made later are collected as usual. Call it once startup is done and before serving.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> None:
    # Collect first: garbage left by imports would otherwise be frozen with the rest and never
    # be freed.
    gc.collect()
    gc.freeze()
