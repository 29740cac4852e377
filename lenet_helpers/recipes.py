"""How a network is trained, as one typed record: optimizer, learning rate, schedule, epochs, batch, init."""
from dataclasses import asdict, dataclass, replace

import torch
from torch import nn

from .training import xavier_init

OPTIMIZERS = ('sgd', 'momentum', 'adam')
OPTIMIZER_NAMES = {'sgd': 'SGD', 'momentum': 'SGD with Nesterov momentum', 'adam': 'AdamW'}
SCHEDULES = ('constant', 'one-cycle')
INITS = ('xavier', 'kaiming', 'pytorch default')


@dataclass(frozen=True)
class Recipe:
    """A training recipe; the defaults are the chapter's."""
    optimizer: str = 'sgd'          # 'sgd', 'momentum' (Nesterov 0.9) or 'adam' (AdamW)
    lr: float = 0.9                 # learning rate (the peak of the schedule for one-cycle)
    schedule: str = 'constant'      # 'constant' or 'one-cycle' (warm up to lr, then anneal)
    epochs: int = 10                # passes over the training set
    batch_size: int = 128           # examples per minibatch
    init: str = 'xavier'            # 'xavier' (the chapter's), 'kaiming' (for ReLU) or 'pytorch default'
    weight_decay: float = 0.0       # L2 penalty (decoupled for AdamW)

    def replace(self, **changes):
        """A copy with some settings changed."""
        return replace(self, **changes)

    def summary(self):
        """The recipe in words, e.g. 'SGD, lr 0.9, 10 epochs, batch 128' for the chapter's."""
        lr = (f'a one-cycle schedule peaking at lr {self.lr:g}' if self.schedule == 'one-cycle'
              else f'lr {self.lr:g}')
        decay = [f'weight decay {self.weight_decay:g}'] if self.weight_decay else []
        return ', '.join([OPTIMIZER_NAMES.get(self.optimizer, self.optimizer), lr, *decay,
                          f'{self.epochs} epochs', f'batch {self.batch_size}'])

    def to_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, d):
        return cls(**d)


CHAPTER_RECIPE = Recipe()  # the chapter's: SGD at 0.9, 10 epochs, batch 128, Xavier init
PLUS_RECIPE = Recipe(optimizer='momentum', lr=0.1, schedule='one-cycle', epochs=7, init='xavier',
                     weight_decay=5e-4)  # lenet_plus's (notebook 06)


def initialise(net, init):
    """Initialise Conv2d and Linear weights: 'xavier' (the chapter's), 'kaiming' (for ReLU) or 'pytorch default'."""
    if init not in INITS:
        raise ValueError(f'init must be one of {", ".join(INITS)}, got {init!r}.')
    if init == 'xavier':
        net.apply(xavier_init)
    elif init == 'kaiming':
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, nonlinearity='relu')
    return net


def make_optimizer(net, name, lr, num_epochs=None, steps_per_epoch=None, weight_decay=0.0):
    """Return an optimizer for train_ch6(optimizer=...); with num_epochs and steps_per_epoch it follows
    a one-cycle schedule (warm up to lr, then anneal), stepped after every optimizer step."""
    if name == 'sgd':
        opt = torch.optim.SGD(net.parameters(), lr=lr, weight_decay=weight_decay)
    elif name == 'momentum':
        opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=weight_decay)
    elif name == 'adam':
        opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)
    else:
        raise ValueError(f'optimizer must be one of {", ".join(OPTIMIZERS)}, got {name!r}.')
    if num_epochs and steps_per_epoch:
        schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=num_epochs * steps_per_epoch)
        opt.register_step_post_hook(lambda *args: schedule.step() if schedule.last_epoch < schedule.total_steps else None)
        opt.schedule = schedule
    return opt


def recipe_optimizer(net, recipe, steps_per_epoch):
    """The optimizer (with its schedule) that recipe asks for, for train_ch6(optimizer=...)."""
    one_cycle = recipe.schedule == 'one-cycle'
    return make_optimizer(net, recipe.optimizer, recipe.lr, recipe.epochs if one_cycle else None,
                          steps_per_epoch, recipe.weight_decay)
