"""RFC 3339 times, as the fake writes them (always UTC) and reads them back."""

import calendar
import functools
import time


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def rfc3339_nano(t):
    whole = int(t)
    nanos = min(int(round((t - whole) * 1e9)), 999_999_999)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + ".%09dZ" % nanos


@functools.lru_cache(maxsize=4096)
def parse_time(text):
    """Seconds since the epoch for an RFC 3339 time the fake wrote (always UTC)."""
    return float(calendar.timegm(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")))
