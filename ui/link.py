"""Links that reopen a view, and the page state a link (or a lesson step) sets.

A view's "Copy a link" button (rnnviz/web/controls.js) adds the step, and Inspect's unit and order, to the
query this module makes of what the server knows: the digit, the shipped models, the tab and the
what-if. Opening such an address sets the page up once, then leaves only the visitor's own ?visitor=
in it. The link never carries that: it would open the visitor's models.
"""

from urllib.parse import urlencode

import streamlit as st

from rnnviz.intervention import Intervention
from rnnviz.measures import ORDERINGS
from rnnviz.serving import store

from . import cache
from .address import SharedView, from_query, to_query
from .state import KEEP_GATE_CHOICES, Key, Param, Source, Tab

OWN_MODELS = ("A link carries the shipped models only: {names} cannot travel in it. Pick shipped models to "
              "share this view.")


def apply(view: SharedView) -> None:
    """Set the page up as `view` says: its digit, models, tab, step, unit, order and what-if (always: a view
    without a what-if shows the models as trained)."""
    state = st.session_state
    if view.digit is not None:
        state.update({Key.LINK_DIGIT: view.digit, Key.SOURCE: Source.LINK})
    if view.example is not None:
        state.update({Key.EXAMPLE: view.example, Key.SOURCE: Source.GALLERY})
    paths = [str(store.shipped_path(model)) for model in view.models]
    if len(paths) == 1:
        state[Key.MODEL] = paths[0]
    elif paths:
        state[Key.COMPARED] = paths
    if view.tab is not None:
        state[Key.TAB] = Tab(view.tab.capitalize())
    for key, value in ((Key.STEP, view.step), (Key.UNIT, view.unit), (Key.ORDER, view.order)):
        if value is not None:
            state[key] = value
    what_if = view.what_if
    state.update({
        Key.KEEP_GATE: next(label for label, gate in KEEP_GATE_CHOICES.items() if gate == what_if.keep_gate),
        Key.SILENCED: list(what_if.silenced), Key.BLANK: what_if.blank_rows is not None})
    if what_if.blank_rows is not None:
        state[Key.BLANK_ROWS] = what_if.blank_rows


def read_query(params) -> tuple[SharedView, list[str]]:
    """The view a page address's query sets, and what of it was ignored (in words)."""
    shipped = cache.shipped_models()
    return from_query(params, tabs=[tab.lower() for tab in Tab],
                      hidden={cell_type: loaded.model.hidden_size for cell_type, loaded in shipped.items()},
                      orders=tuple(ORDERINGS), examples=len(cache.load_gallery()))


def _opened() -> str:
    """Set the view up as the page's address says, take the link out of it; what of it was ignored, in a
    line ("" when nothing, or no link)."""
    params = {name: st.query_params[name] for name in st.query_params if name != Param.VISITOR}
    if not params:
        return ""
    view, ignored = read_query(params)
    apply(view)
    for name in params:
        del st.query_params[name]
    return "Part of this link was ignored: " + "; ".join(ignored) + "." if ignored else ""


def open_link() -> None:
    """On the first run of a page opened from a link, set it up; at every run, say in one line what of the
    link was ignored, if anything."""
    if Key.LINK_NOTE not in st.session_state:
        st.session_state[Key.LINK_NOTE] = _opened()
    if note := st.session_state[Key.LINK_NOTE]:
        st.warning(note, icon=":material/link_off:")


NO_LINK_YET = "Draw a digit first: a link carries the digit with it"


def link_data(tab: Tab, loaded: list, image, what_if: Intervention | None = None) -> dict:
    """What a view's "Copy a link" button needs: the query of what the server knows (the step, unit and
    order are the browser's to add, under these names), or why this view cannot travel in a link."""
    own = [loaded_model.entry.name for loaded_model in loaded if not loaded_model.entry.shipped]
    if own:
        return {"note": OWN_MODELS.format(names=", ".join(own))}
    view = SharedView(digit=image, models=tuple(one.model.cell_type for one in loaded), tab=tab.lower(),
                      what_if=what_if or Intervention())
    return {"query": urlencode(to_query(view)), "step": Param.STEP, "unit": Param.UNIT, "order": Param.ORDER}
