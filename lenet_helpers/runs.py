"""Keep training runs side by side: one table, one overlaid plot, saved to and loaded from JSON."""
import html
import json

import matplotlib.pyplot as plt

from .training import History

METRICS = {'test_acc': 'test accuracy', 'train_acc': 'train accuracy', 'train_loss': 'train loss'}


class RunLog:
    """A list of runs, each a name, the settings that made it and its History."""

    def __init__(self):
        self.runs = []

    def __len__(self):
        return len(self.runs)

    def add(self, name, history, **settings):
        """Record a run; a repeated name gets a number so no run is overwritten. Returns the name."""
        names = {r['name'] for r in self.runs}
        base, k = name, 2
        while name in names:
            name, k = f'{base} ({k})', k + 1
        self.runs.append({'name': name, 'settings': settings, 'history': history})
        return name

    def rows(self):
        """One dict per run: name, settings, final and best figures."""
        rows = []
        for r in self.runs:
            h = r['history']
            rows.append({'name': r['name'], **r['settings'],
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
        rows = self.rows()
        if not rows:
            return '<p><i>No runs yet.</i></p>'
        if sort_by:
            rows.sort(key=lambda r: -r[sort_by] if r[sort_by] == r[sort_by] else float('inf'))
        columns = list(dict.fromkeys(k for r in rows for k in r))

        def cell(v):
            return f'{v:.3f}' if isinstance(v, float) else html.escape(str(v))
        head = ''.join(f'<th>{html.escape(c)}</th>' for c in columns)
        body = ''.join('<tr>' + ''.join(f'<td>{cell(r.get(c, ""))}</td>' for c in columns) + '</tr>'
                       for r in rows)
        return f'<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'

    def plot(self, metric='test_acc', ax=None):
        """Overlay one metric of every run against epochs; returns the figure."""
        if metric not in METRICS:
            raise ValueError(f'metric must be one of {", ".join(METRICS)}, got {metric!r}.')
        if ax is None:
            fig, ax = plt.subplots(figsize=(5, 3))
        for r in self.runs:
            h = r['history']
            ax.plot(h.epoch, getattr(h, metric), marker='o', markersize=3, label=r['name'])
        ax.set_xlabel('epoch'), ax.set_ylabel(METRICS[metric]), ax.grid(True)
        if self.runs:
            ax.legend(fontsize='small')
        return ax.figure

    def save(self, path):
        """Write every run (settings and history) as JSON."""
        data = [{'name': r['name'], 'settings': r['settings'], 'history': r['history'].to_dict()}
                for r in self.runs]
        with open(path, 'w') as f:
            json.dump(data, f, indent=1)

    @classmethod
    def load(cls, path):
        """Read runs written by save()."""
        log = cls()
        try:
            with open(path) as f:
                for r in json.load(f):
                    log.runs.append({'name': r['name'], 'settings': r['settings'],
                                     'history': History(**r['history'])})
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise ValueError(f'{path} is not a run log written by RunLog.save ({e}).') from e
        return log
