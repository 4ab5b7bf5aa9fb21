"""Who the visitor is: a random id that names their own model folder (rnnviz.serving.store).

It is kept in the page's address (?visitor=...), so reloading the page, or coming back to a
bookmark, keeps a student's models; a fresh address starts with none. The id is 128 random bits:
the address is the key to those models (share it, and you share them).
"""

import streamlit as st

from rnnviz.serving import store
from rnnviz.serving.server_config import server_config

from .state import Key, Param


def visitor_id() -> str:
    """This visitor's id, made on their first visit and put in the page's address; each visit is noted
    (their models are kept a while after the last)."""
    if Key.VISITOR not in st.session_state:
        from_address = st.query_params.get(Param.VISITOR)
        st.session_state[Key.VISITOR] = (from_address if store.is_visitor_id(from_address)
                                         else store.new_visitor_id())
        store.visited(st.session_state[Key.VISITOR])
    visitor = st.session_state[Key.VISITOR]
    if st.query_params.get(Param.VISITOR) != visitor:
        st.query_params[Param.VISITOR] = visitor
    return visitor


def client_address() -> str:
    """The visitor's network address: the connection's, or, when that is a balancer the operator trusts
    (RNNVIZ_PROXIES), the address that balancer saw, which it appended to X-Forwarded-For last."""
    address = st.context.ip_address or ""
    if address in server_config().proxies:
        hops = [hop.strip() for hop in (st.context.headers.get("X-Forwarded-For") or "").split(",") if hop.strip()]
        address = hops[-1] if hops else address
    return address
