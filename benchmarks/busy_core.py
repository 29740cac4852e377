"""Threads on a shared machine: train_ch6 with each fixed thread count and with its automatic choice,
on an idle machine and with one core kept busy by another process.

    python benchmarks/busy_core.py [--epochs 2] [--repeats 1]

Every run is its own process: the chapter's LeNet and recipe (lr 0.9, batch 128, seed 0) on all of
Fashion-MNIST, evaluation after every epoch. 'busy' starts one more process that spins on a core for the
whole run, as a browser rendering JupyterLab or a second kernel does on a student's laptop. Prints the
seconds of every run and, per condition, the automatic choice against the best fixed count (the speed
issue asks for at most 1.25x). Run it on an otherwise quiet machine.
"""
import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def child(threads, epochs):
    """One measured run in this process; prints JSON on the last line."""
    import contextlib
    import io

    import lenet_helpers as lh
    lh.set_seed(0)
    train_iter, test_iter = lh.load_data_fashion_mnist(128, seed=0)
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        h = lh.train_ch6(lh.lenet(), train_iter, test_iter, epochs, 0.9, 'cpu', threads=threads)
    print(json.dumps({'seconds': time.perf_counter() - start, 'threads': h.threads, 'test_acc': h.test_acc[-1]}))


def measure(threads, epochs):
    out = subprocess.run([sys.executable, __file__, '--child', str(threads), '--epochs', str(epochs)],
                         capture_output=True, text=True, cwd=ROOT)
    if out.returncode:
        sys.exit(f'the run with threads={threads} failed:\n{out.stderr}')
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--epochs', type=int, default=2)
    p.add_argument('--repeats', type=int, default=1, help='runs per setting; the fastest counts')
    p.add_argument('--child', help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        return child(None if args.child == 'auto' else int(args.child), args.epochs)

    from lenet_helpers.threads import available_cpus, candidate_threads
    from train_speed import cpu_model  # this folder is on sys.path when the script runs
    model = cpu_model()
    fixed = candidate_threads(available_cpus())
    print(f'{model}: {available_cpus()} CPUs available; {args.epochs} epochs per run; fixed counts {fixed}')
    rows = []
    for condition in ('idle', 'busy'):
        spinner = (subprocess.Popen([sys.executable, '-c', 'while True: pass']) if condition == 'busy' else None)
        try:
            results = {}
            for _ in range(args.repeats):
                for threads in [*fixed, 'auto']:
                    r = measure(threads, args.epochs)
                    if threads not in results or r['seconds'] < results[threads]['seconds']:
                        results[threads] = r
        finally:
            if spinner:
                spinner.kill()
                spinner.wait()
        best = min(fixed, key=lambda t: results[t]['seconds'])
        for threads, r in results.items():
            print(f'{condition:5} threads={threads!s:5} {r["seconds"]:7.1f} s  used {r["threads"]}  '
                  f'test acc {r["test_acc"]:.3f}')
        ratio = results['auto']['seconds'] / results[best]['seconds']
        rows.append((condition, best, ratio))
        print(f'{condition}: automatic / best fixed ({best} threads) = {ratio:.2f}x '
              f'({"within" if ratio <= 1.25 else "NOT within"} 1.25x)')
    return rows


if __name__ == '__main__':
    main()
