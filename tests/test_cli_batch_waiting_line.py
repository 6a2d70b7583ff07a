"""``irgraph batch``'s progress line while its backend gets ready says the items wait.

With ``--backend prefect`` and no ``PREFECT_API_URL``, Prefect's temporary server takes seconds
to a minute to start, and the line said "0/16: 0 done, 0 failed, 11 in flight, 0.0 items/s"
every 10 seconds meanwhile: items in flight that had not begun, and a rate of nothing. It now
says they wait for the backend, until the batch's clock begins.
"""

from __future__ import annotations

import io
import time

from irgraph.batch_clock import BatchClock
from irgraph.cli_progress import Meter


def test_the_items_read_wait_for_the_backend_until_the_clock_begins():
    meter = Meter(16, io.StringIO())
    clock = BatchClock()
    meter.follow(clock)
    meter.started, meter.failed, meter.finished = 11, 1, 1
    assert meter.line() == "1/16: 0 done, 1 failed, 10 waiting for the backend to start"
    clock.began = time.monotonic()  # the backend is ready: the items run
    assert "10 in flight" in meter.line() and "waiting" not in meter.line()
