"""One check of the GPU path: the chapter's pipeline and ours side by side, and lenet_plus, on one device.

    python benchmarks/gpu_check.py [--device cuda] [--epochs 5] [--tiny]

Prints the device, the torch and CUDA versions, examples/sec (training epochs with their evaluations,
wall clock) and test accuracy of the chapter's pipeline (PIL images through ToTensor and a DataLoader,
batches copied to the device, one host sync per step) and of ours (train_ch6: uint8 data held on the
device), then lenet_plus with its recipe. Exits non-zero when a run does not complete or, outside
--tiny, lands below the accuracy it should reach. benchmarks/gpu_check.sh runs it on a CUDA machine;
``--device cpu --tiny`` checks the script itself in seconds on any machine.
"""
import argparse
import math
import sys
import time

import torch
from torch import nn

import lenet_helpers as lh
from lenet_helpers.recipes import PLUS_RECIPE, initialise, recipe_optimizer

# What a healthy run reaches (full data); --tiny trains on a few hundred images and checks no accuracy.
MIN_ACC = {'chapter': 0.70, 'ours': 0.70, 'ours (amp)': 0.70, 'lenet_plus': 0.90}


class ChapterImages(torch.utils.data.Dataset):
    """What torchvision's FashionMNIST with ToTensor does for every example: a PIL image, then a tensor."""

    def __init__(self, images, labels):
        from torchvision import transforms
        self.images, self.labels, self.to_tensor = images.numpy(), labels, transforms.ToTensor()

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        from PIL import Image
        return self.to_tensor(Image.fromarray(self.images[i], mode='L')), int(self.labels[i])


def chapter_run(train, test, epochs, device, workers):
    """The chapter's loop as the book writes it: per-batch copies to the device, float(l) every step."""
    from torch.utils.data import DataLoader
    train_iter = DataLoader(ChapterImages(train.images, train.labels), 128, shuffle=True, num_workers=workers)
    test_iter = DataLoader(ChapterImages(test.images, test.labels), 128, num_workers=workers)
    net = lh.lenet().to(device)
    net.apply(lh.xavier_init)
    optimizer, loss = torch.optim.SGD(net.parameters(), lr=0.9), nn.CrossEntropyLoss()
    start = time.perf_counter()
    for _ in range(epochs):
        net.train()
        for X, y in train_iter:
            X, y = X.to(device), y.to(device)
            optimizer.zero_grad()
            l = loss(net(X), y)
            l.backward()
            optimizer.step()
            with torch.no_grad():
                if not math.isfinite(float(l * X.shape[0])):  # the chapter's per-step read of the loss
                    return {'stopped': 'diverged'}
        test_acc = lh.evaluate_accuracy_gpu(net, test_iter, device)
    seconds = time.perf_counter() - start
    return {'stopped': 'completed', 'seconds': seconds, 'test_acc': test_acc,
            'examples_per_sec': epochs * len(train.labels) / seconds}


def ours_run(train, test, epochs, device, amp=False):
    net = lh.lenet()
    start = time.perf_counter()
    h = lh.train_ch6(net, train, test, epochs, 0.9, device, animate=False, progress=False, amp=amp)
    seconds = time.perf_counter() - start
    return {'stopped': h.stopped, 'seconds': seconds, 'test_acc': h.test_acc[-1] if h.test_acc else None,
            'examples_per_sec': len(h.epoch) * len(train.labels) / seconds, 'message': h.message,
            'closing_line': h.examples_per_sec}


def warm_up(device):
    """One untimed step first, so the first timed run does not pay CUDA's and cuDNN's start-up alone."""
    net = lh.lenet().to(device)
    net(torch.zeros(128, 1, 28, 28, device=device)).sum().backward()
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def count_syncs(train, test, device):
    """Host syncs during one epoch of ours (CUDA only): (syncs, batches), or None elsewhere."""
    if device.type != 'cuda':
        return None
    import warnings
    net = lh.lenet()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        torch.cuda.set_sync_debug_mode('warn')
        try:
            lh.train_ch6(net, train, test, 1, 0.9, device, animate=False, progress=False)
        finally:
            torch.cuda.set_sync_debug_mode('default')
    syncs = sum('synchroniz' in str(w.message) for w in caught)
    return syncs, len(train)


def plus_run(train, test, epochs, device):
    net = lh.lenet_plus()
    recipe = PLUS_RECIPE.replace(epochs=epochs)
    initialise(net, recipe.init)
    start = time.perf_counter()
    h = lh.train_ch6(net, train, test, recipe.epochs, recipe.lr, device, init=False, animate=False,
                     progress=False, optimizer=recipe_optimizer(net, recipe, len(train)))
    seconds = time.perf_counter() - start
    return {'stopped': h.stopped, 'seconds': seconds, 'test_acc': h.test_acc[-1] if h.test_acc else None,
            'examples_per_sec': len(h.epoch) * len(train.labels) / seconds, 'message': h.message}


def helpers_run(test, device):
    """The notebooks' helpers on a net that sits on the device, as one does after training there (01, 04, 05, 08)."""
    import matplotlib.pyplot as plt
    net = lh.lenet().to(device)
    x = lh.pick_example(test, 'Pullover', 0)                          # a CPU image, as the notebooks pick it
    outs = lh.block_outputs(net, x)                                    # 05 and 08
    assert [o.device.type for o in outs] == ['cpu', 'cpu'], [o.device for o in outs]
    lh.class_mean_activations(net, test, block=1)                      # 08
    plt.close(lh.plot_kernels(net))                                    # 08
    labels, preds, probs = lh.predict(net, test)                       # 04
    assert preds.device.type == 'cpu' and len(preds) == len(test.labels)
    conv = net[1]                                                      # 01: a learned kernel in the explorer
    explorer = lh.ConvolutionExplorer({'pullover': x[0, 0]}, {'learned': (conv.weight[0, 0].detach(),
                                                                          float(conv.bias.detach()[0]))}, padding=2)
    explorer.redraw()
    snapshots = lh.Snapshots(net)                                      # 08's explorer, from snapshots
    lh.FeatureMapExplorer(net, test, snapshots).png()


def describe(device):
    if device.type == 'cuda':
        return (f'{torch.cuda.get_device_name(device)}, torch {torch.__version__}, CUDA {torch.version.cuda}, '
                f'cuDNN {torch.backends.cudnn.version()}')
    import platform
    return f'{platform.processor() or platform.machine()} CPU, torch {torch.__version__}, no CUDA'


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--device', default='cuda', help='cuda (default), cuda:N or cpu')
    p.add_argument('--epochs', type=int, default=5, help='epochs for the chapter and ours (default 5)')
    p.add_argument('--tiny', action='store_true', help='a few hundred images, 1 epoch: checks the script, not speed')
    p.add_argument('--seed', type=int, default=0)
    args = p.parse_args(argv)
    if args.epochs < 1:
        p.error('--epochs must be at least 1')
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        print('gpu_check: no CUDA device is visible to torch (torch.cuda.is_available() is False). Run this on a '
              'machine with an NVIDIA GPU and a CUDA build of torch, or pass --device cpu --tiny to check the '
              'script itself.', file=sys.stderr)
        return 2
    try:
        device = lh.training.resolve_device(args.device)
    except ValueError as e:
        print(f'gpu_check: {e}', file=sys.stderr)
        return 2
    epochs, plus_epochs = (1, 1) if args.tiny else (args.epochs, PLUS_RECIPE.epochs)
    sizes = dict(n_train=512, n_test=256) if args.tiny else {}
    print(describe(device))
    lh.set_seed(args.seed)
    train, test = lh.load_data_fashion_mnist(128, seed=args.seed, **sizes)
    print(f'data: {len(train.labels)} training and {len(test.labels)} test images from {getattr(train, "source", "memory")}')
    warm_up(device)
    results = {}
    for name, run in (('chapter', lambda: chapter_run(train, test, epochs, device, 0 if args.tiny else 1)),
                      ('ours', lambda: ours_run(train, test, epochs, device)),
                      ('ours (amp)', lambda: ours_run(train, test, epochs, device, amp=True)),
                      ('lenet_plus', lambda: plus_run(train, test, plus_epochs, device))):
        lh.set_seed(args.seed)
        try:
            results[name] = run()
        except Exception as e:  # report every run, then fail
            results[name] = {'stopped': 'failed', 'message': f'{type(e).__name__}: {e}'}
    failures = []
    print(f'{"run":<11} {"epochs":>6} {"examples/sec":>12} {"seconds":>8} {"test acc":>8}  status')
    for name, r in results.items():
        n = plus_epochs if name == 'lenet_plus' else epochs
        if r['stopped'] != 'completed':
            failures.append(f'{name} ended {r["stopped"]}: {r.get("message", "")}')
            print(f'{name:<11} {n:>6} {"-":>12} {"-":>8} {"-":>8}  {r["stopped"]}')
            continue
        print(f'{name:<11} {n:>6} {r["examples_per_sec"]:>12.0f} {r["seconds"]:>8.1f} {r["test_acc"]:>8.3f}  completed')
        if not args.tiny and r['test_acc'] < MIN_ACC[name]:
            failures.append(f'{name} reached test accuracy {r["test_acc"]:.3f}, below {MIN_ACC[name]}')
    if 'examples_per_sec' in results['chapter'] and 'examples_per_sec' in results['ours']:
        print(f'ours / chapter: {results["ours"]["examples_per_sec"] / results["chapter"]["examples_per_sec"]:.2f}x '
              f'examples/sec')
    if 'closing_line' in results['ours']:
        print(f'ours: train_ch6\'s closing line said {results["ours"]["closing_line"]:.0f} examples/sec '
              f'(training steps only; the table counts evaluation too)')
    try:
        syncs = count_syncs(train, test, device)
    except Exception as e:
        syncs = None
        failures.append(f'counting host syncs failed: {type(e).__name__}: {e}')
    if syncs is not None:
        n, batches = syncs
        print(f'host syncs in one epoch of ours: {n} for {batches} batches'
              + (' (none seen: this torch may not report them, so this count proves nothing)' if n == 0 else ''))
        if n >= batches:
            failures.append(f'ours synced with the host {n} times in {batches} batches: once per step or more')
    try:
        helpers_run(test, device)
        print(f'notebook helpers on a net on {device}: all worked')
    except Exception as e:
        failures.append(f'a notebook helper failed on a net on {device}: {type(e).__name__}: {e}')
    for f in failures:
        print(f'FAILED: {f}', file=sys.stderr)
    print('gpu_check: ' + ('FAILED' if failures else 'all runs completed'))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
