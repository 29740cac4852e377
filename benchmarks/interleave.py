"""Candidate changes to one training step, timed side by side in ONE process, interleaved A, B, A, B ...

    python benchmarks/interleave.py [--rounds 8] [--batches 10] [--threads 1] [candidate ...]

Every candidate trains the chapter's LeNet (Xavier init, SGD lr 0.9, batch 128) on the same real
Fashion-MNIST batches; rounds alternate between candidates so that load from other processes hits all
of them alike. Prints the median CPU milliseconds per batch (process time: on a machine shared with
other work it moves far less than wall time) and the ratio to the first candidate, plus wall time. Use
it for development on a busy machine; the figures that count come from train_speed.py on a quiet one.
"""
import argparse
import statistics
import time

import torch
from torch import nn

import lenet_helpers as lh
from lenet_helpers.training import Accumulator, count_correct, prepare_batch


def make(name, images, labels):
    """Return a function that trains `n` batches the way candidate `name` does."""
    torch.manual_seed(0)
    net = lh.lenet()
    net.apply(lh.xavier_init)
    channels_last = name not in ('nchw', 'competent')  # the competent user keeps the default layout
    if channels_last:
        net.to(memory_format=torch.channels_last)
    if name == 'conv2-nchw':  # oneDNN's per-primitive timings favoured the default layout for the second conv
        conv2 = net[4]
        conv2.weight.data = conv2.weight.data.contiguous()
        conv2.register_forward_pre_hook(lambda module, args: (args[0].contiguous(),))
    opt_kw = {'sgd-foreach': {'foreach': True}, 'sgd-fused': {'fused': True}}.get(name, {})
    optimizer, loss = torch.optim.SGD(net.parameters(), lr=0.9, **opt_kw), nn.CrossEntropyLoss()
    batches = lh.ImageBatches(images, labels, 128, shuffle=True, generator=torch.Generator().manual_seed(0))
    if name == 'competent':
        from torch.utils.data import DataLoader, TensorDataset
        batches = DataLoader(TensorDataset(images.unsqueeze(1).float() / 255, labels), batch_size=128, shuffle=True)
    metric = Accumulator(3)
    cpu = torch.device('cpu')
    if name == 'train_ch6':  # the whole thing: one epoch of n batches, its checks, and a 128-image evaluation
        import contextlib
        import io
        test = lh.ImageBatches(images[:128], labels[:128], 128)

        def whole(n):
            part = lh.ImageBatches(images[:128 * n], labels[:128 * n], 128, shuffle=True)
            with contextlib.redirect_stdout(io.StringIO()):
                lh.train_ch6(net, part, test, 1, 0.9, 'cpu', init=False, optimizer=optimizer, animate=False,
                             progress=False, threads=torch.get_num_threads())
        return whole

    def run(n):
        flush = name == 'flush-denormal'
        if flush:
            torch.set_flush_denormal(True)
        it = iter(batches)
        for _ in range(n):
            X, y = next(it)
            if channels_last:
                X = prepare_batch(X, cpu)
            optimizer.zero_grad(set_to_none=True)
            y_hat = net(X)
            l = loss(y_hat, y)
            l.backward()
            optimizer.step()
            if name == 'ours-extras':  # train_ch6's per-batch bookkeeping, no host sync
                with torch.no_grad():
                    metric.add(l * y.numel(), count_correct(y_hat, y), y.numel())
            elif name in ('item-syncs', 'competent'):  # the plain loop's per-batch reads
                float(l.item() * len(y)), (y_hat.argmax(1) == y).sum().item()
        if flush:
            torch.set_flush_denormal(False)
    run.net = net  # for tests: every candidate must train the same function
    return run


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('candidates', nargs='*', default=['baseline', 'ours-extras'],
                   help='baseline, nchw, conv2-nchw, sgd-foreach, sgd-fused, flush-denormal, ours-extras, item-syncs, '
                        'competent, train_ch6')
    p.add_argument('--rounds', type=int, default=8)
    p.add_argument('--batches', type=int, default=10, help='batches per candidate per round')
    p.add_argument('--threads', type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    images, labels, _ = lh.data.load_split('FashionMNIST', 'train')
    images, labels = images[:128 * args.batches * 2], labels[:128 * args.batches * 2]
    runs = {name: make(name, images, labels) for name in args.candidates}
    times = {name: [] for name in runs}
    walls = {name: [] for name in runs}
    for name, run in runs.items():  # warm-up: oneDNN builds its kernels on the first batches
        run(3)
    for r in range(args.rounds):
        order = list(runs) if r % 2 == 0 else list(reversed(runs))
        for name in order:
            start, cpu = time.perf_counter(), time.process_time()
            runs[name](args.batches)
            times[name].append((time.process_time() - cpu) / args.batches * 1000)
            walls[name].append((time.perf_counter() - start) / args.batches * 1000)
    base = statistics.median(times[args.candidates[0]])
    print(f'{args.threads} thread(s), {args.rounds} rounds x {args.batches} batches, median CPU ms per batch:')
    for name, t in times.items():
        m = statistics.median(t)
        print(f'  {name:<15} {m:7.2f} ms  x{m / base:.3f} of {args.candidates[0]}  '
              f'(min {min(t):.2f}; wall median {statistics.median(walls[name]):.1f} ms)')


if __name__ == '__main__':
    main()
