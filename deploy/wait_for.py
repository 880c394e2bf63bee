"""Wait until a URL answers 200, for at most a minute: ``python wait_for.py URL [SECONDS]``.

docker-compose.yml runs it before the example's tests: the collector's image has no shell or HTTP
client for a Docker healthcheck, so the example asks the collector's health_check extension
itself. (Forwarding gives up for the rest of a run at the first failed export.)
"""

from __future__ import annotations

import sys
import time
import urllib.request


def main(url: str, seconds: float = 60.0) -> int:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return 0
        except OSError:
            pass
        if time.monotonic() > deadline:
            print(f"wait_for: {url} did not answer within {seconds:g} s", file=sys.stderr)
            return 1
        time.sleep(0.5)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], *(float(arg) for arg in sys.argv[2:3])))
