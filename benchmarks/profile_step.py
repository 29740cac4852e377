"""Where one training step of the chapter's LeNet spends its time on this CPU (torch.profiler).

    python benchmarks/profile_step.py [--steps 50] [--batch-size 128]

Prints the operators sorted by their own CPU time, and the step time with and without the
channels-last memory format that train_ch6 uses on the CPU. Like train_ch6, it first keeps freed memory for
reuse (memory.keep_freed_memory); `--glibc-defaults` leaves glibc's thresholds as they are.
"""
import argparse
import time

import torch
from torch import nn
from torch.profiler import ProfilerActivity, profile

import lenet_helpers as lh
from lenet_helpers.memory import keep_freed_memory


def make_step(channels_last, batch_size):
    torch.manual_seed(0)
    net = lh.lenet()
    net.apply(lh.xavier_init)
    X, y = torch.rand(batch_size, 1, 28, 28), torch.randint(0, 10, (batch_size,))
    if channels_last:
        net.to(memory_format=torch.channels_last)
        X = X.contiguous(memory_format=torch.channels_last)
    optimizer, loss = torch.optim.SGD(net.parameters(), lr=0.9), nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad(set_to_none=True)
        l = loss(net(X), y)
        l.backward()
        optimizer.step()
        return l.item()
    return step


def time_step(step, steps):
    for _ in range(10):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--steps', type=int, default=50)
    p.add_argument('--batch-size', type=int, default=128)
    p.add_argument('--glibc-defaults', action='store_true', help="don't keep freed memory (train_ch6 does)")
    args = p.parse_args()
    if not args.glibc_defaults:
        keep_freed_memory()
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch_size}, '
          f'glibc {"defaults" if args.glibc_defaults else "keeping freed memory"}')
    for channels_last in (False, True):
        ms = time_step(make_step(channels_last, args.batch_size), args.steps) * 1000
        print(f'{"channels-last" if channels_last else "default layout"}: {ms:.2f} ms per step, '
              f'{ms * 469 / 1000:.2f} s per epoch of 469 steps')
    step = make_step(True, args.batch_size)
    time_step(step, 5)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(args.steps):
            step()
    print(prof.key_averages().table(sort_by='self_cpu_time_total', row_limit=15))


if __name__ == '__main__':
    main()
