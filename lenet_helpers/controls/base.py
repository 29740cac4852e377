"""What every control shares: it is shown by display(control) or as a cell's last expression, live or static.

Live, in a kernel: the widget view. Without a kernel (GitHub, nbviewer, `jupyter nbconvert --to html`), the
same output carries a static HTML snapshot of the control as it was when the cell ran: its tables, its
pictures and its settings, never a `VBox(children=...)` repr.
"""
import html

import ipywidgets as widgets

from ..html import png_html


def static_html(widget):
    """A static HTML picture of a widget tree: boxes, HTML, images and 'description: value' for inputs."""
    layout = getattr(widget, 'layout', None)
    if layout is not None and layout.display == 'none':
        return ''
    if isinstance(widget, widgets.Box):
        direction = 'row;flex-wrap:wrap;gap:4px 16px' if isinstance(widget, widgets.HBox) else 'column'
        inner = ''.join(static_html(child) for child in widget.children)
        return f'<div style="display:flex;flex-direction:{direction}">{inner}</div>' if inner else ''
    if isinstance(widget, widgets.HTML):
        return f'<div>{widget.value}</div>' if widget.value else ''
    if isinstance(widget, widgets.Label):
        return f'<div>{html.escape(widget.value)}</div>'
    if isinstance(widget, widgets.Image):
        return f'<div>{png_html(widget.value)}</div>' if widget.value and widget.format == 'png' else ''
    if isinstance(widget, widgets.Button):
        return ''  # nothing to press without a kernel
    if isinstance(widget, widgets.Output):
        texts = [o.get('text', '') for o in widget.outputs if o.get('output_type') == 'stream']
        return f'<pre>{html.escape("".join(texts))}</pre>' if any(texts) else ''
    if isinstance(widget, widgets.ValueWidget):
        value = widget.value
        if isinstance(widget, (widgets.Dropdown, widgets.SelectionSlider)):
            value = widget.label
        name = getattr(widget, 'description', '') or ''
        return (f'<div style="color:#555">{html.escape(name)}{": " if name else ""}'
                f'<b>{html.escape(str(value))}</b></div>')
    return ''


class Control:
    """Base of every control: subclasses build ``self.view`` (one ipywidgets container) in __init__.

    Display it with display(control) or by ending a cell with it; there is no .widget or .show().
    """
    view = None  # the widget tree, set by each subclass

    def snapshot_html(self):
        """The control's state as static HTML (what a reader without a kernel sees)."""
        return static_html(self.view)

    def _repr_mimebundle_(self, include=None, exclude=None):
        data = self.view._repr_mimebundle_()
        data['text/html'] = (f'<div class="lenet-snapshot" title="A picture of this control when the cell ran; '
                             f'run the notebook to use it">{self.snapshot_html()}</div>')
        data['text/plain'] = f'{type(self).__name__}: run the notebook in Jupyter to use this control.'
        return data
