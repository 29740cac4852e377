"""Side by side, in one invocation: the chapter's recipe, a competent PyTorch loop and lenet_helpers.

    python benchmarks/train_speed.py [--epochs 10] [--seed 0] [--skip-reference] [--rounds 1]

The chapter's recipe: torchvision's FashionMNIST with ToTensor, DataLoader(num_workers=1), the sigmoid
LeNet, Xavier init, SGD lr 0.9, batch 128, test accuracy after every epoch. The competent loop: the
same net and recipe on tensors loaded once, TensorDataset + DataLoader(batch_size=128, shuffle=True), a
plain loop with no extras. Ours: load_data_fashion_mnist + train_ch6 with its progress bar and live
plot on, as a student runs it (outside a notebook the plot draws nothing). Each run is a separate
process so its peak memory is its own; another process only imports torch, torchvision and
matplotlib, the floor all are measured against. Prints the ratios ours/chapter and ours/competent.

A shared machine's speed drifts, within minutes. ``--rounds 2`` runs the recipes in one order and then in the
reverse order, so a drift in speed hits both sides of each ratio alike; the ratios are then of the total
seconds over all rounds, with each round's own beside them.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / 'data'


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports kB


def imports_only():
    import matplotlib.pyplot  # noqa: F401
    import torch  # noqa: F401
    import torchvision  # noqa: F401
    return {}


def reference(epochs, seed):
    """The chapter's recipe, written out plainly (plotting left out)."""
    import matplotlib.pyplot  # noqa: F401  (the chapter's process has it loaded too)
    import torch
    import torchvision
    from torch import nn
    from torch.utils.data import DataLoader
    from torchvision import transforms

    import lenet_helpers as lh
    torch.manual_seed(seed)
    start = time.perf_counter()
    to_tensor = transforms.ToTensor()
    train_set = torchvision.datasets.FashionMNIST(str(DATA), train=True, transform=to_tensor, download=False)
    test_set = torchvision.datasets.FashionMNIST(str(DATA), train=False, transform=to_tensor, download=False)
    train_iter = DataLoader(train_set, 128, shuffle=True, num_workers=1)
    test_iter = DataLoader(test_set, 128, shuffle=False, num_workers=1)
    net = lh.lenet()
    net.apply(lh.xavier_init)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.9)
    loss = nn.CrossEntropyLoss()
    for epoch in range(epochs):
        net.train()
        total_loss, correct, count = 0.0, 0.0, 0
        for X, y in train_iter:
            optimizer.zero_grad()
            y_hat = net(X)
            l = loss(y_hat, y)
            l.backward()
            optimizer.step()
            with torch.no_grad():
                total_loss += float(l) * X.shape[0]
                correct += float((y_hat.argmax(1) == y).sum())
                count += X.shape[0]
        hits, seen = 0.0, 0
        with torch.no_grad():  # the chapter's evaluation, which stays in training mode
            for X, y in test_iter:
                hits += float((net(X).argmax(1) == y).sum())
                seen += y.numel()
        test_acc = hits / seen
    seconds = time.perf_counter() - start
    return {'seconds': seconds, 'loss': total_loss / count, 'train_acc': correct / count, 'test_acc': test_acc}


def competent(epochs, seed):
    """What a competent PyTorch user writes: tensors loaded once, TensorDataset + DataLoader, a plain loop."""
    import matplotlib.pyplot  # noqa: F401
    import torch
    import torchvision  # noqa: F401
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    import lenet_helpers as lh
    torch.manual_seed(seed)
    start = time.perf_counter()
    sets = {}
    for split in ('train', 'test'):
        images, labels, _ = lh.data.load_split('FashionMNIST', split)
        sets[split] = TensorDataset(images.unsqueeze(1).float() / 255, labels)
    train_iter = DataLoader(sets['train'], batch_size=128, shuffle=True)
    test_iter = DataLoader(sets['test'], batch_size=128)
    net = lh.lenet()
    net.apply(lh.xavier_init)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.9)
    loss = nn.CrossEntropyLoss()
    for epoch in range(epochs):
        net.train()
        total_loss, correct, count = 0.0, 0.0, 0
        for X, y in train_iter:
            optimizer.zero_grad()
            y_hat = net(X)
            l = loss(y_hat, y)
            l.backward()
            optimizer.step()
            total_loss += l.item() * len(y)
            correct += (y_hat.argmax(1) == y).sum().item()
            count += len(y)
        net.eval()
        hits, seen = 0, 0
        with torch.no_grad():
            for X, y in test_iter:
                hits += (net(X).argmax(1) == y).sum().item()
                seen += len(y)
        test_acc = hits / seen
    seconds = time.perf_counter() - start
    return {'seconds': seconds, 'loss': total_loss / count, 'train_acc': correct / count, 'test_acc': test_acc,
            'threads': torch.get_num_threads()}


def ours(epochs, seed):
    import matplotlib.pyplot  # noqa: F401
    import torchvision  # noqa: F401

    import lenet_helpers as lh
    lh.set_seed(seed)
    start = time.perf_counter()
    train_iter, test_iter = lh.load_data_fashion_mnist(128)
    h = lh.train_ch6(lh.lenet(), train_iter, test_iter, epochs, 0.9, 'cpu')  # progress bar and plot on
    seconds = time.perf_counter() - start
    return {'seconds': seconds, 'loss': h.train_loss[-1], 'train_acc': h.train_acc[-1],
            'test_acc': h.test_acc[-1], 'examples_per_sec': h.examples_per_sec, 'threads': h.threads}


def child(which, epochs, seed):
    """Run one measurement in this process and print it as JSON on the last line."""
    import contextlib
    import io
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        result = {'imports': imports_only, 'reference': reference, 'competent': competent, 'ours': ours}[which](
            *(() if which == 'imports' else (epochs, seed)))
    result['peak_mb'] = peak_mb()
    print(json.dumps(result))


def measure(which, epochs, seed):
    out = subprocess.run([sys.executable, __file__, '--child', which, '--epochs', str(epochs),
                          '--seed', str(seed)], capture_output=True, text=True, cwd=ROOT)
    if out.returncode:
        sys.exit(f'{which} failed:\n{out.stderr}')
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--epochs', type=int, default=10)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--skip-reference', action='store_true', help='measure only ours')
    p.add_argument('--rounds', type=int, default=1,
                   help='run the recipes this many times, every other round in reverse order (default 1)')
    p.add_argument('--child', choices=['imports', 'reference', 'competent', 'ours'], help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        return child(args.child, args.epochs, args.seed)
    if args.rounds < 1:
        p.error(f'--rounds must be 1 or more, got {args.rounds}')
    if not args.skip_reference and not (DATA / 'FashionMNIST' / 'raw' / 'train-images-idx3-ubyte').is_file():
        sys.exit('The reference recipe needs the uncompressed files in data/FashionMNIST/raw: run `make data`.')
    import torch

    from lenet_helpers.threads import available_cpus, cgroup_quota
    print(f'{cpu_model()}: {os.cpu_count()} CPUs, CPU quota {cgroup_quota() or "none"}, {available_cpus()} '
          f'available; torch {torch.__version__}, default {torch.get_num_threads()} threads')
    print(f'{args.epochs} epochs, lr 0.9, batch 128, seed {args.seed}')
    floor = measure('imports', args.epochs, args.seed)
    names = ['ours', 'competent'] + ([] if args.skip_reference else ['chapter'])
    rounds = []
    for r in range(args.rounds):
        results = {name: measure(CHILD[name], args.epochs, args.seed) for name in round_order(names, r)}
        rounds.append({name: results[name] for name in names})
        if args.rounds > 1:
            print(f'round {r + 1} of {args.rounds} ({", ".join(round_order(names, r))}): '
                  + ', '.join(f'{name} {results[name]["seconds"]:.1f} s' for name in names), flush=True)
    print(f'{"recipe":<10} {"seconds":>8} {"loss":>6} {"train acc":>9} {"test acc":>8} {"threads":>7} '
          f'{"peak MB":>8} {"above imports":>13}')
    for name in names:
        r = rounds[-1][name]
        seconds = sum(rnd[name]['seconds'] for rnd in rounds) / len(rounds)
        print(f'{name:<10} {seconds:>8.1f} {r["loss"]:>6.3f} {r["train_acc"]:>9.3f} {r["test_acc"]:>8.3f} '
              f'{r.get("threads", "-")!s:>7} {r["peak_mb"]:>8.0f} {r["peak_mb"] - floor["peak_mb"]:>13.0f}')
    print(f'imports only: peak {floor["peak_mb"]:.0f} MB; ours chose '
          f'{", ".join(str(rnd["ours"]["threads"]) for rnd in rounds)} thread(s)')
    for line in ratio_lines(rounds):
        print(line)


CHILD = {'ours': 'ours', 'competent': 'competent', 'chapter': 'reference'}


def round_order(names, r):
    """The order of round r: as given in even rounds, reversed in odd ones, so drift hits every recipe alike."""
    return list(names) if r % 2 == 0 else list(reversed(names))


def ratio_lines(rounds):
    """'ours/other: N.NNx faster' lines from the total seconds over the rounds (each round's ratio beside)."""
    lines = []
    ours = sum(rnd['ours']['seconds'] for rnd in rounds)
    for other in ('chapter', 'competent'):
        if other not in rounds[0]:
            continue
        total = sum(rnd[other]['seconds'] for rnd in rounds)
        line = (f'ours/{other}: {total / ours:.2f}x faster ({other} {total / len(rounds):.1f} s / ours '
                f'{ours / len(rounds):.1f} s')
        if len(rounds) > 1:
            each = ', '.join(f'{rnd[other]["seconds"] / rnd["ours"]["seconds"]:.2f}x' for rnd in rounds)
            line += f', mean of {len(rounds)} rounds; each round: {each}'
        lines.append(line + ')')
    return lines


def cpu_model():
    """lscpu's model name (else the platform's), so a figure says which CPU it came from."""
    try:
        out = subprocess.run(['lscpu'], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            if line.startswith('Model name:'):
                return line.split(':', 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    import platform
    return platform.processor() or platform.machine()

if __name__ == '__main__':
    main()
