"""lenet_plus's training step with pooling first (the design) against pooling last, interleaved in one process.

    python benchmarks/plus_step.py [--rounds 8] [--batches 10]

Both build from models.LENET_PLUS_DESIGN (one with pool_first=False), train in channels-last with the optimizer
of recipes.PLUS_RECIPE on the same random batch of 128, and alternate round by round so that load from other
processes hits both alike. Prints the median wall milliseconds per batch, the seconds per 469-batch epoch, and
the ratio. Measure on an otherwise idle machine and name the CPU (`lscpu`) with the figures.
"""
import argparse
import statistics
import time

import torch
from torch import nn

from lenet_helpers.models import LENET_PLUS_DESIGN
from lenet_helpers.recipes import PLUS_RECIPE, initialise, recipe_optimizer


def make_step(design, batch=128):
    """A function that trains one batch of `design` with lenet_plus's recipe."""
    torch.manual_seed(0)
    net = initialise(design.build(), PLUS_RECIPE.init).to(memory_format=torch.channels_last)
    optimizer, loss = recipe_optimizer(net, PLUS_RECIPE, 469), nn.CrossEntropyLoss()
    X = torch.rand(batch, 1, 28, 28).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,))

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss(net(X), y).backward()
        optimizer.step()
    return step


def median_ms(runs, rounds, repeats, warmup=5):
    """Median wall milliseconds per call of each function in `runs` (name -> function), called `repeats`
    times per round and alternated round by round, after `warmup` calls each (oneDNN picks its kernels then)."""
    for run in runs.values():
        for _ in range(warmup):
            run()
    ms = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            for _ in range(repeats):
                run()
            ms[name].append((time.perf_counter() - start) * 1e3 / repeats)
    return {name: statistics.median(v) for name, v in ms.items()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--rounds', type=int, default=8)
    p.add_argument('--batches', type=int, default=10, help='batches per candidate per round')
    args = p.parse_args(argv)
    candidates = {'pool first (lenet_plus)': LENET_PLUS_DESIGN,
                  'pool last': LENET_PLUS_DESIGN.replace(pool_first=False)}
    medians = median_ms({name: make_step(d) for name, d in candidates.items()}, args.rounds, args.batches)
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, {args.rounds} rounds x {args.batches} batches')
    for name, m in medians.items():
        print(f'{name:>24}: {m:6.1f} ms per batch, {m * 469 / 1e3:5.1f} s per epoch')
    print(f'pool last / pool first: {medians["pool last"] / medians["pool first (lenet_plus)"]:.2f}x')


if __name__ == '__main__':
    main()
