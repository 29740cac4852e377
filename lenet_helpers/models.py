"""LeNet as the chapter builds it, a configurable LeNet family, and a per-layer shape table."""
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace

import torch
from torch import nn

ACTIVATIONS = {'sigmoid': nn.Sigmoid, 'tanh': nn.Tanh, 'relu': nn.ReLU, 'elu': nn.ELU, 'gelu': nn.GELU}
POOLS = {'avg': nn.AvgPool2d, 'max': nn.MaxPool2d}


class Reshape(nn.Module):
    """Turn a flat batch (B, 784) into images (B, 1, 28, 28); leave image batches as they are."""

    def forward(self, x):
        return x.view(-1, 1, 28, 28) if x.dim() == 2 else x


def lenet():
    """The chapter's LeNet-5: sigmoid activations, average pooling, no final Gaussian layer."""
    return nn.Sequential(
        Reshape(),
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(),
        nn.Linear(120, 84), nn.Sigmoid(),
        nn.Linear(84, 10))


@contextmanager
def evaluating(net):
    """Put net in eval mode for a with-block, then give it back the mode it had."""
    was_training = net.training
    net.eval()
    try:
        yield net
    finally:
        net.train(was_training)


class DesignError(ValueError):
    """A network design whose shapes cannot work; the message says where and what to change."""


def _conv_out(size, kernel, padding, stride):
    return (size + 2 * padding - kernel) // stride + 1


def build_lenet(input_size=28, channels=(6, 16), kernel_sizes=(5, 5), paddings=(2, 0), strides=(1, 1),
                activation='sigmoid', pool='avg', pool_size=2, hidden=(120, 84), batch_norm=False,
                dropout=0.0, in_channels=1, num_classes=10):
    """Build a LeNet-style nn.Sequential from settings; raise DesignError for shapes that cannot work.

    One conv block per entry of ``channels``: convolution, optional batch norm, activation, and pooling
    (``pool=None`` or ``pool_size=1`` skips it). Then flatten, one Linear per entry of ``hidden``, and
    the output layer. The defaults give the chapter's LeNet.
    """
    n = len(channels)
    if not (len(kernel_sizes) == len(paddings) == len(strides) == n) or n == 0:
        raise DesignError(f'Give one kernel size, padding and stride per conv layer: {n} conv layers, '
                          f'{len(kernel_sizes)} kernel sizes, {len(paddings)} paddings, {len(strides)} strides.')
    if activation not in ACTIVATIONS:
        raise DesignError(f'Unknown activation {activation!r}; choose one of {", ".join(ACTIVATIONS)}.')
    if pool is not None and pool not in POOLS:
        raise DesignError(f'Unknown pooling {pool!r}; choose "avg", "max" or None.')
    layers, size, c_in = [Reshape()] if (input_size == 28 and in_channels == 1) else [], input_size, in_channels
    for i, (c, k, p, s) in enumerate(zip(channels, kernel_sizes, paddings, strides), start=1):
        out = _conv_out(size, k, p, s)
        if out < 1:
            raise DesignError(f'conv{i}: the input map is {size}x{size} but the kernel is {k}x{k} with '
                              f'padding {p}: the kernel does not fit, so nothing is left. Use a smaller kernel, '
                              f'more padding, fewer conv layers or less pooling before this layer.')
        layers.append(nn.Conv2d(c_in, c, kernel_size=k, padding=p, stride=s))
        if batch_norm:
            layers.append(nn.BatchNorm2d(c))
        layers.append(ACTIVATIONS[activation]())
        size, c_in = out, c
        if pool is not None and pool_size > 1:
            if size < pool_size:
                raise DesignError(f'pool{i}: the map after conv{i} is only {size}x{size}, smaller than the '
                                  f'{pool_size}x{pool_size} pooling window. Remove this pooling, use a '
                                  f'smaller window, or keep more resolution earlier (padding, smaller kernels).')
            layers.append(POOLS[pool](kernel_size=pool_size, stride=pool_size))
            size //= pool_size
    layers.append(nn.Flatten())
    width = c_in * size * size
    for h in hidden:
        layers += [nn.Linear(width, h)]
        if batch_norm:
            layers.append(nn.BatchNorm1d(h))
        layers.append(ACTIVATIONS[activation]())
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = h
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)


def _macs(layer, out):
    """Multiply-adds one example needs in a Conv2d or Linear layer (0 for the others)."""
    if isinstance(layer, nn.Conv2d):
        k = layer.kernel_size[0] * layer.kernel_size[1] * layer.in_channels // layer.groups
        return out.shape[1:].numel() * k
    if isinstance(layer, nn.Linear):
        return layer.in_features * layer.out_features
    return 0


def layer_table(net, input_shape=(1, 1, 28, 28)):
    """Pass one zero batch through ``net`` layer by layer; return a row per layer.

    Each row is a dict: ``layer`` (class name), ``output`` (shape tuple), ``params`` and ``macs``
    (multiply-adds for one example).
    """
    rows, X = [], torch.zeros(input_shape)
    with evaluating(net), torch.no_grad():
        for layer in net:
            X = layer(X)
            rows.append({'layer': type(layer).__name__, 'output': tuple(X.shape),
                         'params': sum(p.numel() for p in layer.parameters()),
                         'macs': _macs(layer, X)})
    return rows


def count_params(net):
    """Number of trainable parameters."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


@dataclass(frozen=True)
class Design:
    """A LeNet-style design: every knob of build_lenet, with the chapter's LeNet as the defaults."""
    input_size: int = 28                # height = width of the input images
    channels: tuple = (6, 16)           # output channels of each conv layer (one block per entry)
    kernel_sizes: tuple = (5, 5)        # square kernel of each conv layer
    paddings: tuple = (2, 0)            # zero padding of each conv layer
    strides: tuple = (1, 1)             # stride of each conv layer
    activation: str = 'sigmoid'         # one of ACTIVATIONS
    pool: str = 'avg'                   # 'avg', 'max' or None
    pool_size: int = 2                  # pooling window = stride
    hidden: tuple = (120, 84)           # widths of the hidden fully connected layers
    batch_norm: bool = False            # batch norm after every conv and hidden layer
    dropout: float = 0.0                # dropout after every hidden layer
    in_channels: int = 1                # 1 for greyscale
    num_classes: int = 10               # outputs of the last layer

    def build(self):
        """The nn.Sequential this design describes (DesignError when it cannot work)."""
        return build_lenet(**self.to_dict())

    def replace(self, **changes):
        """A copy with some knobs changed."""
        return replace(self, **changes)

    def to_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, d):
        """The design saved by to_dict() (lists become tuples again)."""
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


CHAPTER_DESIGN = Design()  # the chapter's LeNet
# lenet_plus (notebook 06's worked solution; its ablation changes one knob at a time).
LENET_PLUS_DESIGN = Design(channels=(16, 32, 64), kernel_sizes=(5, 3, 3), paddings=(2, 1, 1), strides=(1, 1, 1),
                           activation='relu', pool='max', hidden=(128,), batch_norm=True, dropout=0.2)


def lenet_plus():
    """An improved LeNet (notebook 06): three narrow conv blocks with batch norm, ReLU and max pooling.

    About 99k parameters; train it with Adam and a one-cycle schedule (see the CLI's --optimizer adam).
    """
    return LENET_PLUS_DESIGN.build()


# Models the command line and the notebooks can ask for by name.
MODELS = {'lenet': lenet, 'lenet_plus': lenet_plus}


def get_model(name):
    """Return a fresh model by name from MODELS."""
    if name not in MODELS:
        raise ValueError(f'Unknown model {name!r}; choose one of {", ".join(sorted(MODELS))}.')
    return MODELS[name]()
