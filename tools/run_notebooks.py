"""Execute notebooks top to bottom in place (full mode unless LENET_QUICK is set) and keep them small.

    python tools/run_notebooks.py notebooks/04_training.ipynb [more.ipynb ...]

Strips the saved widget state (it only bloats the file; controls come back when a student runs the
notebook) and prints how long each notebook took, the figure the README quotes.
"""
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def run(path):
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=1800, kernel_name='python3',
                   resources={'metadata': {'path': str(Path(path).parent)}}).execute()
    seconds = time.perf_counter() - start
    nb.metadata.pop('widgets', None)
    nbformat.write(nb, path)
    size = Path(path).stat().st_size / 1000
    print(f'{path}: {seconds:.0f} s, {size:.0f} kB')
    return seconds


if __name__ == '__main__':
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for p in sys.argv[1:]:
        run(p)
