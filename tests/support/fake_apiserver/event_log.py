"""The event log (notes §9): every write as one event, the last K kept for resuming watches."""

from collections import deque


class Event:
    __slots__ = ("rv", "type", "plural", "namespace", "obj", "old", "time")

    def __init__(self, rv, kind, plural, namespace, obj, old, when):
        self.rv, self.type, self.plural, self.namespace = rv, kind, plural, namespace
        self.obj, self.old = obj, old  # `old` lets a filtered watch turn MODIFIED into ADDED
        self.time = when  # virtual; a watch past its timeout must not see later events


class EventLog:
    """The last K writes, for resuming watches. Every write makes exactly one event, so the
    log holds every resourceVersion after `compacted`."""

    def __init__(self, size):
        self.size = size
        self.events = deque()
        self.compacted = 0

    def append(self, event):
        self.events.append(event)
        while len(self.events) > self.size:
            self.compacted = self.events.popleft().rv

    def expire(self, current):
        self.events.clear()
        self.compacted = current

    def after(self, rv):
        """Events newer than `rv`, oldest first; None when some of them were forgotten."""
        if rv < self.compacted:
            return None
        newer = []
        for event in reversed(self.events):
            if event.rv <= rv:
                break
            newer.append(event)
        newer.reverse()
        return newer
