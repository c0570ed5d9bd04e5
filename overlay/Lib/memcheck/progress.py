"""Progress of a run of "python -m memcheck": tests done out of the total,
findings so far, time elapsed and an estimate of what is left.

Each process under Memcheck appends one JSON line an event to a file of its
own (memcheck.checker writes them); the driver reads the files while it
waits.  On a terminal the status line is rewritten in place every second;
elsewhere (a CI log) a plain line is printed every INTERVAL seconds."""

import json
import sys
import time

INTERVAL = 30


class Progress:
    def __init__(self, paths, stream=sys.stderr):
        self.paths = paths
        self.stream = stream
        self.tty = stream.isatty()
        self.start = time.monotonic()
        self.last_line = self.start
        self.offsets = {path: 0 for path in paths}
        self.totals = {}
        self.jobs = len(paths)  # processes that will report a total
        self.done = 0
        self.findings = 0

    def _read(self):
        for path in self.paths:
            try:
                with open(path, encoding="utf-8") as f:
                    f.seek(self.offsets[path])
                    text = f.read()
            except FileNotFoundError:
                continue
            # Only whole lines: a process may be writing the last one.
            text = text[:text.rfind("\n") + 1]
            self.offsets[path] += len(text.encode("utf-8"))
            for line in text.splitlines():
                event = json.loads(line)
                if "jobs" in event:
                    self.jobs = event["jobs"]
                elif "total" in event:
                    self.totals[path] = event["total"]
                elif "test" in event:
                    self.done += 1
                    self.findings += event["errors"] > 0
                elif "leaked" in event:
                    self.findings += event.get("tests", 1)

    def line(self):
        elapsed = time.monotonic() - self.start
        total = sum(self.totals.values())
        text = (f"memcheck: {self.done}/{total or '?'} tests, "
                f"{self.findings} with findings, {_clock(elapsed)} elapsed")
        if 0 < self.done < total and len(self.totals) == self.jobs:
            left = elapsed * (total - self.done) / self.done
            text += f", about {_clock(left)} left"
        return text

    def update(self):
        """Show the progress, if it is time to."""
        self._read()
        now = time.monotonic()
        if self.tty:
            self.stream.write("\r" + self.line() + "\033[K")
            self.stream.flush()
        elif now - self.last_line >= INTERVAL:
            self.last_line = now
            print(self.line(), file=self.stream, flush=True)

    def finish(self):
        self._read()
        if self.tty:
            self.stream.write("\r\033[K")
        print(self.line(), file=self.stream, flush=True)


def _clock(seconds):
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes}:{seconds:02d}"
