"""Snapshots of a net's weights at the start of a run and after each epoch: time travel through training."""
import copy


def copy_state(net):
    """A detached CPU copy of net's state_dict, in the standard memory layout (safe to keep and to save)."""
    return {k: v.detach().to('cpu', copy=True).contiguous() for k, v in net.state_dict().items()}


class Snapshots:
    """Keep the weights of ``net`` before training (epoch 0) and after every epoch; pass it as on_progress.

        snapshots = Snapshots(net)
        train_ch6(net, train_iter, test_iter, 10, 0.9, on_progress=snapshots)
        old = snapshots.net_at(0)  # a copy of net with its random starting weights

    Snapshot 0 is taken when the run makes its first training step, after train_ch6's Xavier init (a
    forward pre-hook on the net, removed right after), and falls back to the weights at construction if
    the net never trains. Snapshot k (k >= 1) is taken when epoch k's 'epoch' report arrives.

    Memory bound: one snapshot is one copy of every parameter and buffer. The chapter's LeNet has 61,706
    float32 parameters, about 247 kB a snapshot, so a 10-epoch run keeps 11 snapshots, about 2.7 MB. In
    general: (epochs + 1) x count_params(net) x 4 bytes.
    """

    def __init__(self, net):
        self.net = net
        self.states = [copy_state(net)]  # states[k]: the weights after epoch k (0: before training)
        self._hook = net.register_forward_pre_hook(self._first_step)

    def _first_step(self, module, inputs):
        if module.training:  # the first training forward: init is done, no step taken yet
            self.states[0] = copy_state(module)
            self._remove_hook()

    def _remove_hook(self):
        if self._hook is not None:
            self._hook.remove()
            self._hook = None

    def __call__(self, progress):
        """The on_progress hook: keep a copy of the weights at the end of every epoch."""
        if progress.kind == 'epoch':
            self._remove_hook()
            del self.states[progress.epoch:]  # a repeated epoch number replaces, never duplicates
            self.states.append(copy_state(self.net))

    def __len__(self):
        return len(self.states)

    @property
    def epochs(self):
        """The number of finished epochs held (the last snapshot's epoch)."""
        return len(self.states) - 1

    @property
    def nbytes(self):
        """Memory the snapshots take, in bytes."""
        return sum(t.numel() * t.element_size() for s in self.states for t in s.values())

    def net_at(self, epoch, net=None):
        """A copy of the net (or of ``net``) holding the weights after ``epoch`` (0: before training)."""
        if isinstance(epoch, bool) or not isinstance(epoch, int) or not 0 <= epoch < len(self.states):
            raise ValueError(f'epoch must be a whole number from 0 (before training) to {self.epochs}, '
                             f'got {epoch!r}.')
        watching = net is None and self._hook is not None
        self._remove_hook()  # the hook must not be copied along with the net
        other = copy.deepcopy(net if net is not None else self.net).cpu()
        if watching:
            self._hook = self.net.register_forward_pre_hook(self._first_step)
        other.load_state_dict(self.states[epoch])
        return other.eval()

    @classmethod
    def from_states(cls, net, states):
        """Snapshots rebuilt from saved states (e.g. a checkpoint), without watching a run."""
        snaps = cls.__new__(cls)
        snaps.net, snaps.states, snaps._hook = net, [dict(s) for s in states], None
        return snaps

    def __repr__(self):
        return f'Snapshots(epochs 0 to {self.epochs}, {self.nbytes / 1e6:.1f} MB)'
