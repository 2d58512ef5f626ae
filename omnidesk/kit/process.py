"""Process-wide settings for a long-running, latency-sensitive process (server or bench)."""

from __future__ import annotations

import gc
import sys

#: Collector thresholds once serving: objects allocated before the young generation is
#: scanned, young scans before the middle one is, middle scans before a full one may run.
#: With CPython's defaults (700, 10, 10) each middle scan promotes the requests in flight
#: at that moment to the old generation, which then fills with short-lived objects and is
#: scanned in full every second or two at 500 requests/s: a 50-100 ms pause of every
#: request and socket each time. Scanned less often, the request objects have died first.
GC_THRESHOLDS = (5_000, 50, 100)


def tune_for_latency() -> None:
    """Call once set-up is done, before the latency-sensitive work starts."""
    # What start-up built (modules, mappers, schemas, routes) lives as long as the process:
    # frozen, a full collection does not scan it again and again.
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    # Threads (the inbound writer) hold the GIL in turns with the loop: 1 ms turns instead
    # of 5 keep a long batch from holding up requests and websockets.
    sys.setswitchinterval(0.001)
