"""Run records and the run log: one typed record per run, tables and plots of many, saved and merged as JSON."""
import hashlib
import json
import uuid
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path

from .files import atomic_write_json, check_writable_file, read_json
from .models import Design
from .recipes import Recipe
from .training import History

SCHEMA = 'lenet-runs/2'  # written into every saved run log; version 1 was a bare JSON list of runs
METRICS = {'test_acc': 'test accuracy', 'train_acc': 'train accuracy', 'train_loss': 'train loss'}
HISTORY_LISTS = ('epoch', 'train_loss', 'train_acc', 'test_acc', 'seconds')


class RunFileError(ValueError):
    """A run log file that cannot be read: missing, damaged, foreign, or holding bad entries."""


def _now():
    return datetime.now(timezone.utc).isoformat(timespec='seconds')


@dataclass
class Run:
    """One training run: its name, what was trained and how, what it measured and how it ended."""
    name: str                                    # shown in tables and legends
    history: History = field(default_factory=History)   # per-epoch figures, status ('completed', 'stopped', ...)
    settings: dict = field(default_factory=dict)  # every other knob shown in tables (seed, device, pool, dataset)
    design: Design = None                        # the network's design, when it is a build_lenet design
    recipe: Recipe = None                        # how it was trained, when a recipe was used
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])  # identity: loading twice never duplicates
    created: str = field(default_factory=_now)   # UTC time the run started, ISO 8601

    @property
    def status(self):
        """How the run ended: 'running', 'completed', 'stopped', 'interrupted', 'diverged' or 'failed'."""
        return self.history.stopped

    def to_dict(self):
        return {'id': self.id, 'name': self.name, 'created': self.created, 'settings': self.settings,
                'design': self.design.to_dict() if self.design else None,
                'recipe': self.recipe.to_dict() if self.recipe else None, 'history': self.history.to_dict()}

    @classmethod
    def from_dict(cls, d):
        """The run saved by to_dict(); raises ValueError saying what is wrong with a bad entry."""
        if not isinstance(d, dict):
            raise ValueError(f'an entry must be a JSON object, got {type(d).__name__}')
        for key, kind in (('name', str), ('history', dict)):
            if not isinstance(d.get(key), kind):
                raise ValueError(f'"{key}" is missing or not a {"text" if kind is str else "JSON object"}')
        settings = d.get('settings') or {}
        if not isinstance(settings, dict):
            raise ValueError('"settings" is not a JSON object')
        known = {f.name for f in fields(History)}
        h = {k: v for k, v in d['history'].items() if k in known}  # newer files may carry more fields
        lists = [h.get(k, []) for k in HISTORY_LISTS]
        if not all(isinstance(v, list) for v in lists) or len({len(v) for v in lists}) > 1:
            raise ValueError('its history needs equally long lists ' + ', '.join(HISTORY_LISTS))
        if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for v in lists for x in v):
            raise ValueError('its history holds values that are not numbers')
        try:
            design = Design.from_dict(d['design']) if d.get('design') else None
            recipe = Recipe.from_dict(d['recipe']) if d.get('recipe') else None
        except TypeError as e:
            raise ValueError(f'its design or recipe has unknown settings ({e})') from None
        run_id = d.get('id') or _content_id(d)
        return cls(name=d['name'], history=History(**h), settings=settings, design=design, recipe=recipe,
                   id=str(run_id), created=str(d.get('created') or ''))


def _content_id(d):
    """A stable id for a version-1 entry (which had none), so that loading it twice merges."""
    return 'v1-' + hashlib.sha1(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:12]


def epochs_to_reach(history, threshold=0.80):
    """The first epoch whose test accuracy is at least threshold, or None."""
    return next((e for e, a in zip(history.epoch, history.test_acc) if a >= threshold), None)


class RunLog:
    """Runs side by side, in the order they were added; merged by identity, saved as versioned JSON."""

    def __init__(self, runs=()):
        self.runs = []
        self.problems = []  # after load(skip_bad=True): one line per entry that was refused
        for run in runs:
            self.append(run)

    def __len__(self):
        return len(self.runs)

    def __iter__(self):
        return iter(self.runs)

    def __getitem__(self, key):
        """A run by position, or by name."""
        if isinstance(key, str):
            found = [r for r in self.runs if r.name == key]
            if not found:
                raise KeyError(f'no run named {key!r}; the runs are: {", ".join(r.name for r in self.runs)}')
            return found[-1]
        return self.runs[key]

    def add(self, name, history, *, design=None, recipe=None, **settings):
        """Record a finished run and return its Run; a repeated name gets a number so legends stay apart."""
        return self.append(Run(name, history, settings, design, recipe))

    def append(self, run):
        """Add a Run record (its name numbered if taken); one already here (same id) is not added twice."""
        if any(r.id == run.id for r in self.runs):
            return next(r for r in self.runs if r.id == run.id)
        names, base, k = {r.name for r in self.runs}, run.name, 2
        while run.name in names:
            run.name, k = f'{base} ({k})', k + 1
        self.runs.append(run)
        return run

    def merge(self, other):
        """Add the runs of another RunLog that are not here yet (by id); return how many were added."""
        ids = {r.id for r in self.runs}
        new = [r for r in other if r.id not in ids]
        for run in new:
            self.runs.append(run)  # keep their saved names: the same run reads the same everywhere
        return len(new)

    def clear(self):
        """Forget every run."""
        self.runs.clear()

    def rows(self):
        """One dict per run: name, settings, final and best figures, status."""
        rows = []
        for r in self.runs:
            h = r.history
            rows.append({'name': r.name, **r.settings,
                         'epochs': len(h.epoch),
                         'train loss': h.train_loss[-1] if h.epoch else float('nan'),
                         'train acc': h.train_acc[-1] if h.epoch else float('nan'),
                         'test acc': h.test_acc[-1] if h.epoch else float('nan'),
                         'best test acc': max(h.test_acc) if h.epoch else float('nan'),
                         'seconds': h.seconds[-1] if h.epoch else 0.0,
                         'stopped': h.stopped})
        return rows

    def best(self, key='best test acc'):
        """The row of the run with the highest value of key (None when empty)."""
        rows = [r for r in self.rows() if r[key] == r[key]]  # drop NaN
        return max(rows, key=lambda r: r[key]) if rows else None

    def to_html(self, sort_by=None):
        """The runs as an HTML table, best first when sort_by names a column."""
        from .html import runs_table
        return runs_table(self, sort_by)

    def plot(self, metric='test_acc', ax=None):
        """Overlay one metric of every run against epochs; returns the figure."""
        import matplotlib.pyplot as plt
        if metric not in METRICS:
            raise ValueError(f'metric must be one of {", ".join(METRICS)}, got {metric!r}.')
        from . import style
        if ax is None:
            fig, ax = plt.subplots(figsize=(5, 3))
        for i, r in enumerate(self.runs):  # colour-blind-safe colours, each run with its own marker and line
            ax.plot(r.history.epoch, getattr(r.history, metric), markersize=4, label=r.name, **style.curve_style(i))
        ax.set_xlabel('epoch'), ax.set_ylabel(METRICS[metric]), ax.grid(True)
        if len(self.runs) > 4:  # many runs: the legend goes beside the plot, off the curves
            ax.legend(fontsize='small', loc='upper left', bbox_to_anchor=(1.02, 1), frameon=False)
        elif self.runs:
            ax.legend(fontsize='small')
        return ax.figure

    def to_dict(self):
        return {'schema': SCHEMA, 'runs': [r.to_dict() for r in self.runs]}

    def save(self, path, merge=False):
        """Write every run as JSON (atomically: a failed save leaves the old file whole).

        merge=True first reads the runs already in the file and keeps them: nothing saved earlier is lost.
        """
        check_writable_file(path, 'run log')
        log = RunLog(self.runs)
        if merge and Path(path).exists():
            log = RunLog.load(path, skip_bad=True)
            log.merge(self)
        atomic_write_json(path, log.to_dict())
        return len(log)

    @classmethod
    def load(cls, path, skip_bad=False):
        """Read a run log written by save() (or by version 1, a plain list).

        Raises RunFileError naming the file when it cannot be read. An entry that is not a valid run is
        an error too, unless skip_bad=True: then the good runs load and ``log.problems`` lists the bad ones.
        """
        path = Path(path)
        data = read_json(path, 'run log', 'RunLog.save', RunFileError)
        if isinstance(data, list):
            entries = data  # version 1
        elif isinstance(data, dict) and data.get('schema') == SCHEMA and isinstance(data.get('runs'), list):
            entries = data['runs']
        elif isinstance(data, dict) and str(data.get('schema', '')).startswith('lenet-runs/'):
            raise RunFileError(f'{path} was written by another version of lenet_helpers ({data["schema"]}; '
                               f'this one reads {SCHEMA}). Update lenet_helpers or save the runs again.')
        else:
            raise RunFileError(f'{path} is not a run log written by RunLog.save (no "schema": "{SCHEMA}" '
                               f'and not a list of runs).')
        log, problems = cls(), []
        for i, entry in enumerate(entries, 1):
            try:
                log.append(Run.from_dict(entry))
            except ValueError as e:
                name = entry.get('name') if isinstance(entry, dict) else None
                problems.append(f'entry {i}{f" ({name})" if isinstance(name, str) else ""}: {e}')
        if problems and not skip_bad:
            raise RunFileError(f'{path} holds {len(problems)} bad entr{"y" if len(problems) == 1 else "ies"}, '
                               f'so nothing was loaded:\n' + '\n'.join(problems))
        log.problems = problems
        return log
