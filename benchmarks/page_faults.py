"""Page faults and time of training runs with train_ch6 keeping freed memory (memory.py) and with glibc's defaults.

    python benchmarks/page_faults.py [--model lenet_plus] [--epochs 3] [--batch-size 256] [--repeats 3]

Each run is `python -m lenet_helpers train` in a child process (seed 0, 2 threads, output in a temporary folder);
the two settings alternate run by run so that load from other processes hits both alike. For each run it prints
the child's minor page faults (from getrusage) and wall seconds, then the medians. Measure on an otherwise idle
machine and name the CPU (`lscpu`) with the figures.
"""
import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time

# In the child: with 'defaults', train_ch6's call that sets glibc's thresholds becomes a no-op.
CHILD = '''
import sys
import lenet_helpers.training as training
if sys.argv[1] == 'defaults':
    training.keep_freed_memory = lambda: False
from lenet_helpers.cli import main
sys.exit(main(sys.argv[2:]))
'''


def run(setting, args, out):
    """One training run in a child process; returns (minor page faults, wall seconds)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt
    start = time.perf_counter()
    subprocess.run([sys.executable, '-c', CHILD, setting, 'train', '--model', args.model, '--epochs', str(args.epochs),
                    '--batch-size', str(args.batch_size), '--seed', '0', '--threads', '2', '--no-progress',
                    '--out', out], check=True, stdout=subprocess.DEVNULL)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt - before, time.perf_counter() - start


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--model', default='lenet_plus')
    p.add_argument('--epochs', type=int, default=3)
    p.add_argument('--batch-size', type=int, default=256)
    p.add_argument('--repeats', type=int, default=3)
    args = p.parse_args(argv)
    results = {'keep': [], 'defaults': []}
    print(f'{args.model}, {args.epochs} epochs, batch {args.batch_size}, seed 0, 2 threads')
    with tempfile.TemporaryDirectory() as out:
        for i in range(args.repeats):
            for setting in results:
                faults, seconds = run(setting, args, out)
                results[setting].append((faults, seconds))
                print(f'run {i + 1} {setting:>8}: {faults:>10,} page faults, {seconds:6.1f} s', flush=True)
    for setting, rows in results.items():
        print(f'{setting:>8}: median {statistics.median(f for f, _ in rows):,.0f} page faults, '
              f'{statistics.median(s for _, s in rows):.1f} s (range {min(s for _, s in rows):.1f}-'
              f'{max(s for _, s in rows):.1f} s)')


if __name__ == '__main__':
    main()
