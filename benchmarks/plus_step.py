"""lenet_plus's training step against two variants, interleaved in one process: pooling last, and with biases.

    python benchmarks/plus_step.py [--rounds 8] [--batches 10] [--glibc-defaults]

All three build from models.LENET_PLUS_DESIGN: as it is, with pool_first=False, and with a bias in every conv and
dense layer in front of batch norm and ReLU not in place (how lenet_plus was built before). They train in
channels-last with the optimizer of recipes.PLUS_RECIPE on the same random batch of 128, and alternate round by
round so that load from other processes hits them alike. Prints the median wall milliseconds per batch, the
seconds per 469-batch epoch, and each variant's time over lenet_plus's. Like train_ch6, it first keeps freed
memory for reuse (memory.keep_freed_memory): with glibc's defaults the larger maps of pooling last fault in fresh
pages every step, which `--glibc-defaults` shows. Measure on an otherwise idle machine and name the CPU (`lscpu`)
with the figures.
"""
import argparse
import statistics
import time

import torch
from torch import nn

from lenet_helpers.memory import keep_freed_memory
from lenet_helpers.models import LENET_PLUS_DESIGN
from lenet_helpers.recipes import PLUS_RECIPE, initialise, recipe_optimizer


def with_biases(net):
    """The same net with a bias in every Conv2d and Linear, and ReLU not in place."""
    def redo(m):
        if isinstance(m, nn.Conv2d):
            return nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding)
        if isinstance(m, nn.Linear):
            return nn.Linear(m.in_features, m.out_features)
        return nn.ReLU() if isinstance(m, nn.ReLU) else m
    return nn.Sequential(*map(redo, net))


def make_step(net, batch=128):
    """A function that trains one batch of `net` with lenet_plus's recipe."""
    torch.manual_seed(0)
    net = initialise(net, PLUS_RECIPE.init).to(memory_format=torch.channels_last)
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
    p.add_argument('--glibc-defaults', action='store_true', help="don't keep freed memory (train_ch6 does)")
    args = p.parse_args(argv)
    if not args.glibc_defaults:
        keep_freed_memory()
    candidates = {'lenet_plus': LENET_PLUS_DESIGN.build(),
                  'pool last': LENET_PLUS_DESIGN.replace(pool_first=False).build(),
                  'with biases': with_biases(LENET_PLUS_DESIGN.build())}
    medians = median_ms({name: make_step(net) for name, net in candidates.items()}, args.rounds, args.batches)
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, {args.rounds} rounds x {args.batches} batches, '
          f'glibc {"defaults" if args.glibc_defaults else "keeping freed memory"}')
    for name, m in medians.items():
        print(f'{name:>12}: {m:6.1f} ms per batch, {m * 469 / 1e3:5.1f} s per epoch, '
              f'{m / medians["lenet_plus"]:.2f}x lenet_plus\'s time')


if __name__ == '__main__':
    main()
