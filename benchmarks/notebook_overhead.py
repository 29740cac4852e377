"""What the progress bar, live plot and run control cost while training in a Jupyter kernel.

    python benchmarks/notebook_overhead.py [--epochs 2] [--rounds 4]

Starts one kernel through nbclient (as tools/run_notebooks.py does) and trains the chapter's LeNet on
Fashion-MNIST in three ways, interleaved round by round so that the machine's drift hits each alike:

- plain: ``train_ch6(..., progress=False, animate=False)``, no output while training;
- bar + plot: ``train_ch6`` as a student calls it, with its progress bar and live plot;
- panel: a ``TrainingPanel`` run (the Train button: worker thread, progress line, live curve).

A short untimed run first takes the kernel's one-off costs (oneDNN's first kernels, imports).

Prints each one's median wall time and its ratio to plain. Run it on an idle machine: it measures the
cost of the page's updates, which competing work hides.
"""
import argparse
import statistics
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
SETUP = '''import time, lenet_helpers as lh
train_iter, test_iter = lh.load_data_fashion_mnist(128, seed=0)
panel = lh.TrainingPanel(lambda bs: (train_iter, test_iter), lh.lenet, lr=0.9, epochs={epochs}, batch_size=128)
display(panel)
warm_up, _ = lh.load_data_fashion_mnist(128, n_train=6400)  # the kernel's first run pays one-off costs: not timed
lh.train_ch6(lh.lenet(), warm_up, test_iter, 1, 0.9, threads=2, progress=False, animate=False)'''
RUNS = {
    'plain': 'lh.train_ch6(lh.lenet(), train_iter, test_iter, {epochs}, 0.9, threads=2, progress=False, animate=False)',
    'bar + plot': 'lh.train_ch6(lh.lenet(), train_iter, test_iter, {epochs}, 0.9, threads=2)',
    'panel': 'panel.train(wait=True)',
}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--epochs', type=int, default=2)
    p.add_argument('--rounds', type=int, default=4)
    args = p.parse_args()
    cells = [SETUP.format(epochs=args.epochs)]
    for _ in range(args.rounds):
        for name, call in RUNS.items():
            cells.append(f'lh.set_seed(0)\nt = time.perf_counter()\n{call.format(epochs=args.epochs)}\n'
                         f'print("RESULT", {name!r}, time.perf_counter() - t)')
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    print(f'{args.rounds} rounds of {args.epochs}-epoch LeNet runs in one kernel; this takes a few minutes', flush=True)
    NotebookClient(nb, timeout=3600, kernel_name='python3', resources={'metadata': {'path': str(ROOT)}}).execute()
    seconds = {name: [] for name in RUNS}
    for cell in nb.cells[1:]:
        for out in cell.get('outputs', []):
            for line in out.get('text', '').splitlines():
                if line.startswith('RESULT'):
                    _, rest = line.split(' ', 1)
                    name, value = rest.rsplit(' ', 1)
                    seconds[name].append(float(value))
    if any(len(v) != args.rounds for v in seconds.values()):
        sys.exit(f'some runs printed no result: {seconds}')
    base = statistics.median(seconds['plain'])
    for name, values in seconds.items():
        med = statistics.median(values)
        print(f'{name:<11} median {med:6.2f} s  ({", ".join(f"{v:.1f}" for v in values)})  x{med / base:.2f} of plain')


if __name__ == '__main__':
    main()
