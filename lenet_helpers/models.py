"""LeNet as the chapter builds it, a configurable LeNet family, and a per-layer shape table."""
import math
import numbers
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


# Designs whose weights or per-image feature maps would exceed these are refused before anything is allocated.
MAX_PARAMS = 50_000_000          # 200 MB of float32 weights (lenet has 61,706, lenet_plus about 99,000)
MAX_ACTIVATIONS = 50_000_000     # values in one image's feature maps (200 MB, times the batch size in training)


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_int(name, value, low, fix):
    if not _is_int(value):
        raise DesignError(f'{name} must be a whole number, got {value!r} ({type(value).__name__}). {fix}')
    if value < low:
        raise DesignError(f'{name} must be at least {low}, got {value}. {fix}')
    return int(value)


def _check_ints(name, values, low, fix, allow_empty=False):
    """A tuple/list of whole numbers, each at least low; a string or a single number is refused by name."""
    if isinstance(values, (str, bytes)) or not isinstance(values, (tuple, list)):
        raise DesignError(f'{name} must be a tuple of whole numbers such as (6, 16), got {values!r} '
                          f'({type(values).__name__}). {fix}')
    if not values and not allow_empty:
        raise DesignError(f'{name} is empty: give at least one number. {fix}')
    return tuple(_check_int(f'{name}[{i}]', v, low, fix) for i, v in enumerate(values))


def _megabytes(n_values):
    return f'{n_values * 4 / 1e9:,.1f} GB' if n_values * 4 >= 1e9 else f'{n_values * 4 / 1e6:,.0f} MB'


def check_design(input_size=28, channels=(6, 16), kernel_sizes=(5, 5), paddings=(2, 0), strides=(1, 1),
                 activation='sigmoid', pool='avg', pool_size=2, hidden=(120, 84), batch_norm=False,
                 dropout=0.0, in_channels=1, num_classes=10, pool_first=False):
    """Check every knob of build_lenet (type, range, shapes, memory) without building; raise DesignError naming it.

    Returns the rows (layer name, output shape per image) the design would have.
    """
    input_size = _check_int('input_size', input_size, 1, 'Use the image height, 28 for Fashion-MNIST.')
    in_channels = _check_int('in_channels', in_channels, 1, 'Use 1 for greyscale images, 3 for colour.')
    num_classes = _check_int('num_classes', num_classes, 2, 'A classifier needs at least 2 classes; '
                                                           'Fashion-MNIST has 10.')
    channels = _check_ints('channels', channels, 1, 'Every conv layer needs at least 1 output channel, '
                                                    'like the chapter\'s (6, 16).')
    n = len(channels)
    kernel_sizes = _check_ints('kernel_sizes', kernel_sizes, 1, 'A kernel is at least 1x1; the chapter uses 5.')
    paddings = _check_ints('paddings', paddings, 0, 'Padding is 0 or more; the chapter uses (2, 0).')
    strides = _check_ints('strides', strides, 1, 'A stride is at least 1 (1 = every position); the chapter uses 1.')
    hidden = _check_ints('hidden', hidden, 1, 'Every hidden layer needs at least 1 unit, like the chapter\'s '
                                              '(120, 84); use () for none.', allow_empty=True)
    if not (len(kernel_sizes) == len(paddings) == len(strides) == n):
        raise DesignError(f'Give one kernel size, padding and stride per conv layer: {n} conv layers, '
                          f'{len(kernel_sizes)} kernel sizes, {len(paddings)} paddings, {len(strides)} strides.')
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise DesignError(f'Unknown activation {activation!r}; choose one of {", ".join(ACTIVATIONS)}.')
    if pool is not None and (not isinstance(pool, str) or pool not in POOLS):
        raise DesignError(f'Unknown pooling {pool!r}; choose "avg", "max" or None.')
    pool_size = _check_int('pool_size', pool_size, 1, 'Use 2 (the chapter\'s), or pool=None (or pool_size=1) '
                                                      'for no pooling.')
    if batch_norm not in (True, False):
        raise DesignError(f'batch_norm must be True or False, got {batch_norm!r}.')
    if pool_first not in (True, False):
        raise DesignError(f'pool_first must be True or False, got {pool_first!r}.')
    if (isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not math.isfinite(dropout)
            or not 0 <= dropout < 1):
        raise DesignError(f'dropout must be a number from 0 up to (not including) 1, got {dropout!r}. '
                          f'Use 0 for none, 0.2 to 0.5 for some.')
    rows, size, c_in, params = [], input_size, in_channels, 0
    for i, (c, k, p, s) in enumerate(zip(channels, kernel_sizes, paddings, strides), start=1):
        out = _conv_out(size, k, p, s)
        if out < 1:
            raise DesignError(f'conv{i}: the input map is {size}x{size} but the kernel is {k}x{k} with '
                              f'padding {p}: the kernel does not fit, so nothing is left. Use a smaller kernel, '
                              f'more padding, fewer conv layers or less pooling before this layer.')
        params += c_in * c * k * k + c
        if params > MAX_PARAMS or c * out * out > MAX_ACTIVATIONS:
            what = ('its weights' if params > MAX_PARAMS else f'the {c:,} feature maps of {out}x{out} of a '
                    f'single image')
            raise DesignError(f'channels[{i - 1}] = {c:,}: conv{i} would need about '
                              f'{_megabytes(max(params, c * out * out))} of memory for {what}. Use tens or '
                              f'hundreds of channels, like the chapter\'s (6, 16).')
        size, c_in = out, c
        rows.append((f'conv{i}', (c, size, size)))
        if pool is not None and pool_size > 1:
            if size < pool_size:
                raise DesignError(f'pool{i}: the map after conv{i} is only {size}x{size}, smaller than the '
                                  f'{pool_size}x{pool_size} pooling window. Remove this pooling, use a '
                                  f'smaller window, or keep more resolution earlier (padding, smaller kernels).')
            size //= pool_size
            rows.append((f'pool{i}', (c, size, size)))
    width = c_in * size * size
    for j, h in enumerate(list(hidden) + [num_classes]):
        params += width * h + h
        if params > MAX_PARAMS:
            name = f'hidden[{j}]' if j < len(hidden) else 'num_classes'
            raise DesignError(f'{name} = {h:,}: the fully connected layer from {width:,} inputs would need about '
                              f'{_megabytes(params)} of memory for its weights. Use fewer units, or more '
                              f'pooling before flattening.')
        width = h
        rows.append(('linear', (h,)))
    return rows


def _norm_act(norm, width, activation):
    """The layers after a conv or dense layer: ``norm(width)`` (or nothing for norm=None), then the activation.

    A ReLU straight after batch norm overwrites the norm's output in place: no other layer reads that output,
    and the copy it saves is a whole set of feature maps per step.
    """
    if norm is None:
        return [ACTIVATIONS[activation]()]
    return [norm(width), nn.ReLU(inplace=True) if activation == 'relu' else ACTIVATIONS[activation]()]


def build_lenet(input_size=28, channels=(6, 16), kernel_sizes=(5, 5), paddings=(2, 0), strides=(1, 1),
                activation='sigmoid', pool='avg', pool_size=2, hidden=(120, 84), batch_norm=False,
                dropout=0.0, in_channels=1, num_classes=10, pool_first=False):
    """Build a LeNet-style nn.Sequential from settings; raise DesignError for settings that cannot work.

    One conv block per entry of ``channels``: convolution, optional batch norm, activation, and pooling
    (``pool=None`` or ``pool_size=1`` skips it; ``pool_first=True`` pools straight after the convolution).
    Then flatten, one Linear per entry of ``hidden``, and the output layer. With batch norm, the layers it
    follows have no bias: the norm subtracts the mean, which cancels any bias, and adds its own. The defaults
    give the chapter's LeNet. Every knob is checked first (check_design).
    """
    check_design(input_size, channels, kernel_sizes, paddings, strides, activation, pool, pool_size, hidden,
                 batch_norm, dropout, in_channels, num_classes, pool_first)
    channels, kernel_sizes, paddings, strides, hidden = (tuple(int(v) for v in t) for t in
                                                         (channels, kernel_sizes, paddings, strides, hidden))
    layers, size, c_in = [Reshape()] if (input_size == 28 and in_channels == 1) else [], input_size, in_channels
    for c, k, p, s in zip(channels, kernel_sizes, paddings, strides):
        layers.append(nn.Conv2d(c_in, c, kernel_size=k, padding=p, stride=s, bias=not batch_norm))
        size, c_in = _conv_out(size, k, p, s), c
        norm_act = _norm_act(nn.BatchNorm2d if batch_norm else None, c, activation)
        pooling = []
        if pool is not None and pool_size > 1:
            pooling = [POOLS[pool](kernel_size=pool_size, stride=pool_size)]
            size //= pool_size
        layers += pooling + norm_act if pool_first else norm_act + pooling
    layers.append(nn.Flatten())
    width = c_in * size * size
    for h in hidden:
        layers.append(nn.Linear(width, h, bias=not batch_norm))
        layers += _norm_act(nn.BatchNorm1d if batch_norm else None, h, activation)
        if dropout:
            layers.append(nn.Dropout(float(dropout)))
        width = h
    layers.append(nn.Linear(width, int(num_classes)))
    return nn.Sequential(*layers)


def _macs(layer, out):
    """Multiply-adds one example needs in a Conv2d or Linear layer (0 for the others)."""
    if isinstance(layer, nn.Conv2d):
        k = layer.kernel_size[0] * layer.kernel_size[1] * layer.in_channels // layer.groups
        return out.shape[1:].numel() * k
    if isinstance(layer, nn.Linear):
        return layer.in_features * layer.out_features
    return 0


def _check_input_shape(input_shape):
    if (isinstance(input_shape, (str, bytes)) or not isinstance(input_shape, (tuple, list, torch.Size))
            or len(input_shape) not in (2, 4) or not all(_is_int(v) and v >= 1 for v in input_shape)):
        raise DesignError(f'input_shape must be (batch, channels, height, width) of whole numbers of at least 1, '
                          f'like (1, 1, 28, 28); got {input_shape!r}.')
    return tuple(int(v) for v in input_shape)


def check_net(net, input_shape=(1, 1, 28, 28)):
    """Pass one zero batch through ``net`` layer by layer; return a row per layer, or raise DesignError
    saying in words which layer cannot take its input and why.

    Each row is a dict: ``layer`` (class name), ``output`` (shape tuple), ``params`` and ``macs``
    (multiply-adds for one example).
    """
    if not isinstance(net, nn.Sequential):
        raise DesignError(f'The shape table walks an nn.Sequential layer by layer, but got '
                          f'{type(net).__name__}. Build the net as nn.Sequential(...) (as the chapter does).')
    X, rows = torch.zeros(_check_input_shape(input_shape)), []
    with evaluating(net), torch.no_grad():
        for i, layer in enumerate(net):
            shape = 'x'.join(map(str, X.shape[1:]))
            if isinstance(layer, nn.Linear) and X.dim() == 2 and X.shape[1] != layer.in_features:
                raise DesignError(f'layer {i} (Linear) expects {layer.in_features} inputs, but the layer before it '
                                  f'gives {X.shape[1]} values per image. Make it nn.Linear({X.shape[1]}, '
                                  f'{layer.out_features}), or feed images of the size the net was built for.')
            try:
                X = layer(X)
            except (RuntimeError, ValueError) as e:
                raise DesignError(f'layer {i} ({type(layer).__name__}) cannot take an input of shape '
                                  f'{shape}: {str(e).splitlines()[0]} Feed images of the size the net was built '
                                  f'for, or change this layer.') from None
            rows.append({'layer': type(layer).__name__, 'output': tuple(X.shape),
                         'params': sum(p.numel() for p in layer.parameters()),
                         'macs': _macs(layer, X)})
    return rows


def layer_table(net, input_shape=(1, 1, 28, 28)):
    """Pass one zero batch through ``net`` layer by layer; return a row per layer (see check_net).

    Each row is a dict: ``layer`` (class name), ``output`` (shape tuple), ``params`` and ``macs``
    (multiply-adds for one example). An input the net cannot take raises DesignError saying which layer.
    """
    return check_net(net, input_shape)


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
    pool_first: bool = False            # pool right after each conv (batch norm and activation then see smaller maps)
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
        unknown = sorted(set(d) - set(cls.__dataclass_fields__))
        if unknown:
            raise DesignError(f'This design has unknown settings: {", ".join(unknown)}. A design has '
                              f'{", ".join(cls.__dataclass_fields__)}.')
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


CHAPTER_DESIGN = Design()  # the chapter's LeNet
# lenet_plus (notebook 06's worked solution; its ablation changes one knob at a time).
LENET_PLUS_DESIGN = Design(channels=(16, 32, 64), kernel_sizes=(3, 3, 3), paddings=(1, 1, 1), strides=(1, 1, 1),
                           activation='relu', pool='max', hidden=(128,), batch_norm=True, dropout=0.2,
                           pool_first=True)


def lenet_plus():
    """An improved LeNet (notebook 06): three narrow blocks of 3x3 convolution, max pooling, batch norm and ReLU.

    About 99k parameters; its recipe is recipes.PLUS_RECIPE (momentum SGD with a one-cycle schedule).
    """
    return LENET_PLUS_DESIGN.build()


# Models the command line and the notebooks can ask for by name.
MODELS = {'lenet': lenet, 'lenet_plus': lenet_plus}


def model_recipe(name):
    """The training recipe a model comes with: recipes.CHAPTER_RECIPE for lenet, recipes.PLUS_RECIPE for lenet_plus."""
    from . import recipes  # imported here: recipes imports training, which imports this module
    if not isinstance(name, str) or name not in MODELS:
        raise ValueError(f'Unknown model {name!r}; choose one of {", ".join(sorted(MODELS))}.')
    return {'lenet': recipes.CHAPTER_RECIPE, 'lenet_plus': recipes.PLUS_RECIPE}[name]


def get_model(name):
    """Return a fresh model by name from MODELS."""
    if not isinstance(name, str) or name not in MODELS:
        raise ValueError(f'Unknown model {name!r}; choose one of {", ".join(sorted(MODELS))}.')
    return MODELS[name]()
