"""A stopwatch that remembers every lap, as the chapter's Timer does."""
import itertools
import time


class Timer:
    """Record several running times."""

    def __init__(self):
        self.times = []
        self.start()

    def start(self):
        """Start the timer."""
        self.tik = time.perf_counter()

    def stop(self):
        """Stop the timer, record the lap and return it in seconds."""
        self.times.append(time.perf_counter() - self.tik)
        return self.times[-1]

    def avg(self):
        """Average lap time (0.0 before the first lap)."""
        return sum(self.times) / len(self.times) if self.times else 0.0

    def sum(self):
        """Total of all laps."""
        return sum(self.times)

    def cumsum(self):
        """Running totals of the laps."""
        return list(itertools.accumulate(self.times))
