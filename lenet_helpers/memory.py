"""Keep freed memory in the process while training, so that each step reuses pages instead of faulting in new ones.

Every training step allocates and frees the same activation buffers (megabytes each). glibc's malloc gives large
freed blocks back to the system (by unmapping them or trimming the heap) and its thresholds for doing so move
with the allocation pattern, so in some runs every step faults in fresh zeroed pages. On a 2-core AMD EPYC,
`benchmarks/page_faults.py` (three-epoch lenet_plus runs at batch 256) measured 4.0-4.5 million page faults and a
median 72.6 s with glibc's defaults, against 0.17 million and 61.9 s with the thresholds below (BENCHMARKS.md).
"""
import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD = -1   # mallopt parameters, from glibc's malloc.h
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 64 << 20    # blocks up to 64 MB come from the heap, not a fresh mapping each time
TRIM_THRESHOLD = 256 << 20   # up to 256 MB of free memory stays in the heap for reuse


def _glibc():
    """The C library if it is glibc (it has mallopt and malloc_trim), else None."""
    if not sys.platform.startswith('linux'):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6')
    except OSError:
        return None
    return libc if hasattr(libc, 'mallopt') and hasattr(libc, 'malloc_trim') else None


def keep_freed_memory(libc=None):
    """Set glibc's thresholds so that freed training buffers are reused; True if they were set, else False.

    The setting stays for the process (glibc cannot report its previous values to restore);
    release_freed_memory() gives what was kept back to the system after a run. Elsewhere than Linux
    with glibc this does nothing and returns False.
    """
    libc = libc or _glibc()
    return bool(libc is not None and libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
                and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))


def release_freed_memory(libc=None):
    """Give the heap's free memory back to the system (glibc's malloc_trim); True if any was given back."""
    libc = libc or _glibc()
    return bool(libc is not None and libc.malloc_trim(0))
