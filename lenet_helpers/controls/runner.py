"""The one run control behind every panel: train in a worker thread, draw the live curve, stop on request.

Why a worker thread and not an asyncio task: train_ch6 is synchronous and never awaits, so an asyncio task
on the kernel's event loop holds that loop for the whole run. Measured with jupyter_client against
ipykernel 7.4 while a 3-epoch LeNet run trained (tools/measure_run_control.py, 2-core AMD EPYC, busy): the
first shell message waited 8.4 s, the whole run, behind an asyncio task; behind a worker thread every reply
came within 0.1 s (an asyncio task that awaits asyncio.to_thread is the same thread, with more machinery). Widget messages (the Stop button, sliders) travel on that same shell channel, so only the
thread keeps the page alive. PyTorch releases the GIL inside its kernels, so the main thread gets its
turns. The thread talks to train_ch6 only through its hook: ``on_progress`` reports and a
threading.Event as ``stop``; widgets are updated from the thread, which ipykernel's IOPub thread allows.

Notebooks run by nbclient/nbval have no one to click: ``start(..., wait=True)`` (every panel's
``train()`` default) blocks until the run ends and returns the finished Run, so outputs are deterministic.
Interrupting the kernel during such a wait stops the run cleanly ('stopped', weights kept).
"""
import io
import math
import sys
import threading
import time

import ipywidgets as widgets
from matplotlib.figure import Figure

from ..html import error_html, message_html
from ..runs import Run, RunLog
from ..training import History

DRAW_EVERY = 2.0           # seconds between redraws of the live curve (each takes about 0.1 s)
TEXT_EVERY = 0.5           # seconds between updates of the progress line
CURVE_PX = (640, 240)      # the live curve's size in pixels: drawn at the size it is shown, so never blurred
DPI = 100
COLOURS = {'train loss': '#0072B2', 'train acc': '#E69F00', 'test acc': '#009E73'}  # Okabe-Ito, colour-blind safe
STYLES = {'train loss': '-', 'train acc': '--', 'test acc': ':'}


def curve_figure(points, num_epochs, title=''):
    """The live curve: train loss and accuracy per report, test accuracy per epoch."""
    fig = Figure(figsize=(CURVE_PX[0] / DPI, CURVE_PX[1] / DPI), dpi=DPI)
    ax = fig.add_subplot()
    for name, (xs, ys) in points.items():
        if xs:
            ax.plot(xs, ys, STYLES[name], color=COLOURS[name], label=name, linewidth=1.8,
                    marker='o' if name == 'test acc' or len(xs) < 20 else None, markersize=4)
    done = max((x for xs, _ in points.values() for x in xs), default=0)
    ax.set_xlim(0, min(num_epochs, max(1, math.ceil(done))))  # up to the epoch in progress: early points show
    ax.set_xlabel('epoch', fontsize=9), ax.tick_params(labelsize=9), ax.grid(True, alpha=0.4)
    if title:
        ax.set_title(title, fontsize=9, y=1.0)  # a fixed y skips matplotlib's costly title placement
    if any(xs for xs, _ in points.values()):
        ax.legend(fontsize=9, loc='center right', framealpha=0.8)
    # Fixed margins in pixels (room for 9-pt tick labels, the axis label and the title): tight_layout
    # measured every label at each redraw and took longer than drawing the figure.
    w, h = CURVE_PX
    fig.subplots_adjust(left=40 / w, right=1 - 10 / w, bottom=46 / h, top=1 - (24 if title else 10) / h)
    return fig


def curve_png(points, num_epochs, title=''):
    """The live curve as PNG bytes."""
    buf = io.BytesIO()
    curve_figure(points, num_epochs, title).savefig(buf, format='png', dpi=DPI)
    return buf.getvalue()


def progress_text(p):
    """'epoch 2/10, batch 120/469, 5,432 examples/s, about 35 s left' from a training Progress."""
    left = p.seconds_left
    left = f', about {left:,.0f} s left' if left is not None and p.kind == 'batch' else ''
    what = (f'batch {p.batch}/{p.num_batches}' if p.kind == 'batch'
            else f'test acc {p.test_acc:.3f}')
    return (f'epoch {p.epoch}/{p.num_epochs}, {what}, loss {p.train_loss:.3f}, train acc {p.train_acc:.3f}, '
            f'{p.examples_per_sec:,.0f} examples/s{left}')


class QuietThreads:
    """Stands in for sys.stdout while runs train: what a run's thread prints is dropped (its panel shows the same
    facts), so it never lands in whichever cell ran last; every other thread prints as usual."""

    def __init__(self, stream):
        self.stream, self.threads = stream, set()

    def write(self, text):
        return len(text) if threading.get_ident() in self.threads else self.stream.write(text)

    def __getattr__(self, name):
        return getattr(self.stream, name)

    @classmethod
    def add(cls, ident):
        if not isinstance(sys.stdout, cls):
            sys.stdout = cls(sys.stdout)
        sys.stdout.threads.add(ident)

    @classmethod
    def remove(cls, ident):
        if isinstance(sys.stdout, cls):
            sys.stdout.threads.discard(ident)
            if not sys.stdout.threads:  # the last run ended: give back the stream it replaced
                sys.stdout = sys.stdout.stream


class RunControl:
    """Start a run (a job in a worker thread), show its live curve and progress, stop it, record it in a RunLog.

    A job is ``job(on_progress, stop) -> (net, History)``: it calls train_ch6 with those two hooks. The panel
    that owns this control passes every setting to the job when Train is pressed, so a slider moved during the
    run changes only the next run. ``busy`` widgets (the panel's Train buttons) are disabled while a run goes.
    """

    def __init__(self, log=None, busy=(), on_finish=None):
        self.log = log if log is not None else RunLog()
        self.busy, self.on_finish = list(busy), on_finish
        self.nets = {}                  # run id -> its trained model (kept after stop and failure too)
        self.run = None                 # the Run being trained, or the last one
        self.thread = None
        self._stop = threading.Event()
        self._lock = threading.Lock()   # one run at a time, even for two clicks in a row
        self._points = {k: ([], []) for k in COLOURS}  # the live curve's (x, y) lists, reset at each start
        self._num_epochs, self._last_draw, self._last_text = 1, 0.0, 0.0
        self.stop_button = widgets.Button(description='Stop', icon='stop', disabled=True,
                                          tooltip='End the run after the current batch; it keeps what it learned')
        self.stop_button.add_class('lenet-stop')
        self.stop_button.on_click(lambda _: self.stop())
        self.status = widgets.HTML()
        self.status.add_class('lenet-run-status')
        self.progress = widgets.HTML()
        self.progress.add_class('lenet-progress')
        self.curve = widgets.Image(format='png', layout=widgets.Layout(
            width=f'{CURVE_PX[0]}px', height=f'{CURVE_PX[1]}px', display='none', max_width='100%',
            object_fit='contain'))
        self.curve.add_class('lenet-live-curve')

    @property
    def running(self):
        """True while a run is training."""
        return self.thread is not None and self.thread.is_alive()

    def view(self):
        """Stop button, status, progress line and live curve, for the panel to place."""
        return widgets.VBox([widgets.HBox([self.stop_button, self.progress],
                                          layout=widgets.Layout(align_items='center', flex_flow='row wrap')),
                             self.status, self.curve])

    def say(self, text, kind='info'):
        """Show a message in the status line."""
        self.status.value = message_html(text, kind) if text else ''

    def start(self, name, job, *, settings=None, design=None, recipe=None, num_epochs=1, wait=True):
        """Begin a run and return its Run record (finished when wait=True; status 'running' otherwise).

        A second start while one run trains is refused with a message and returns None.
        """
        if not self._lock.acquire(blocking=False):
            self.say(f'"{self.run.name}" is still training: press Stop, or wait for it to finish, then train '
                     f'again.', 'warning')
            return None
        try:
            for w in self.busy:
                w.disabled = True
            run = Run(name, History(stopped='running'), dict(settings or {}), design, recipe)
            self.run, self._stop = run, threading.Event()
            self._points = {k: ([], []) for k in COLOURS}
            self._num_epochs, self._last_draw, self._last_text = num_epochs, 0.0, 0.0
            self.say(f'Training "{name}"... Press Stop to end it early; the run and its weights are kept.')
            self.progress.value = 'starting...'
            self.curve.value, self.curve.layout.display = curve_png(self._points, num_epochs, name), None
            self.stop_button.disabled = False
            self.thread = threading.Thread(target=self._work, args=(run, job), name=f'lenet run {name}',
                                           daemon=True)
            self.thread.start()
        except BaseException:
            self._finish_ui()
            self._lock.release()
            raise
        if wait:
            self.wait()
        return run

    def wait(self, timeout=None):
        """Block until the run ends (interrupting the kernel stops it cleanly) and return its Run."""
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while self.running and (deadline is None or time.monotonic() < deadline):
                self.thread.join(0.1)
        except KeyboardInterrupt:  # Kernel > Interrupt while a cell waits: stop the run, keep it
            self.stop()
            self.thread.join()
        return self.run

    def stop(self):
        """Ask the running run to end after its current batch (within about a second)."""
        if self.running:
            self._stop.set()
            self.stop_button.disabled = True
            self.progress.value = 'stopping after this batch...'

    # ---------------------------------------------------------------------------- in the worker thread
    def _report(self, p):
        now = time.monotonic()
        x = p.epoch - 1 + p.batch / max(p.num_batches, 1)
        for key, value in (('train loss', p.train_loss), ('train acc', p.train_acc)):
            self._points[key][0].append(x), self._points[key][1].append(value)
        if p.kind == 'epoch':
            self._points['test acc'][0].append(p.epoch), self._points['test acc'][1].append(p.test_acc)
        if now - self._last_text >= TEXT_EVERY or p.kind == 'epoch':
            self._last_text, self.progress.value = now, progress_text(p)
        if now - self._last_draw >= DRAW_EVERY:
            self._last_draw = now
            self.curve.value = curve_png(self._points, self._num_epochs, self.run.name)

    def _work(self, run, job):
        net, me = None, threading.get_ident()
        QuietThreads.add(me)
        try:
            net, history = job(self._report, self._stop)
        except Exception as e:  # bad settings, missing data, a broken make_net: a 'failed' run, shown
            history = History(stopped='failed', message=f'{type(e).__name__}: {e}')
        finally:
            QuietThreads.remove(me)
        try:
            run.history = history
            if net is not None:
                self.nets[run.id] = net
            self.log.append(run)
            self.curve.value = curve_png(self._points, self._num_epochs, run.name)
            done = len(history.epoch)
            self.progress.value = (f'{history.stopped} after {done} finished epoch{"" if done == 1 else "s"}'
                                   + (f', {history.examples_per_sec:,.0f} examples/s' if history.examples_per_sec
                                      else ''))
            if history.stopped == 'completed':
                self.say(f'{run.name}: completed. ' + (history.message or ''))
            elif history.stopped == 'failed':
                self.status.value = error_html(f'{run.name}: failed. {history.message}',
                                               advice='The run is kept in the table as failed. Fix the '
                                                      'cause, then press Train again.')
            else:
                self.say(f'{run.name}: {history.stopped}. {history.message}', 'warning')
        except Exception as e:  # never leave the panel locked
            self.status.value = error_html(e)
        finally:
            self._finish_ui()
            self._lock.release()
        if self.on_finish is not None:
            try:
                self.on_finish(run)  # the panel refreshes its tables (and may disable its Train button again)
            except Exception as e:
                self.status.value = error_html(e)

    def _finish_ui(self):
        self.stop_button.disabled = True
        for w in self.busy:
            w.disabled = False
