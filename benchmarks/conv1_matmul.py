"""LeNet's first convolution computed by oneDNN (channels-last, NCHW) and as a matrix product, side by side.

    python benchmarks/conv1_matmul.py

The layer is the chapter's conv1 (1 -> 6 channels, 5x5 window, padding 2, 28x28 images, batch 128). Each
candidate runs the forward pass and the gradients of the weights and bias (the images need none), on the same
tensors, interleaved round by round. The matrix product unfolds every image into its 25 x 784 patches
(`F.unfold`) and multiplies the 6 x 25 weights by them. Prints the median milliseconds and the ratio to
oneDNN in channels-last, the layout train_ch6 uses. Measure on an idle machine and name the CPU (`lscpu`).
"""
import torch
import torch.nn.functional as F


def candidates(X, W, b, G):
    """name -> function that runs conv1's forward pass and its weight and bias gradients once."""
    def onednn(channels_last):
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        x, g = X.contiguous(memory_format=fmt), G.contiguous(memory_format=fmt)
        return lambda: F.conv2d(x, W, b, padding=2).backward(g)

    def matmul():
        cols = F.unfold(X, 5, padding=2)  # (batch, 25, 784): every 5x5 patch as a column
        y = (W.view(6, 25) @ cols).view(-1, 6, 28, 28) + b.view(1, 6, 1, 1)
        y.backward(G)
    return {'oneDNN channels-last': onednn(True), 'oneDNN NCHW': onednn(False), 'unfold + matmul': matmul}


def main(rounds=10, repeats=20):
    torch.manual_seed(0)
    X, G = torch.rand(128, 1, 28, 28), torch.randn(128, 6, 28, 28)
    W, b = torch.randn(6, 1, 5, 5, requires_grad=True), torch.zeros(6, requires_grad=True)
    runs = candidates(X, W, b, G)
    grads = []
    for run in runs.values():
        W.grad = None
        run()
        grads.append(W.grad.clone())
    assert all(torch.allclose(grads[0], g, rtol=1e-4, atol=1e-2) for g in grads), 'the candidates disagree'
    from plus_step import median_ms  # this folder is on sys.path when the script runs
    ms = median_ms(runs, rounds, repeats, warmup=repeats)
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads; conv1 forward + weight gradient, batch 128')
    base = ms['oneDNN channels-last']
    for name, m in ms.items():
        print(f'{name:>22}: {m:6.2f} ms  ({m / base:.2f}x channels-last)')


if __name__ == '__main__':
    main()
