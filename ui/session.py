"""Who the visitor is: a random id that names their own model folder (rnnviz.serving.store).

It is kept in the page's address (?visitor=...), so reloading the page, or coming back to a
bookmark, keeps a student's models; a fresh address starts with none. The id is 128 random bits:
the address is the key to those models (share it, and you share them).
"""

import streamlit as st

from rnnviz.serving import store

from .state import Key, Param


def session_id() -> str:
    """This visitor's id, made on their first visit and put in the page's address."""
    if Key.SESSION not in st.session_state:
        from_address = st.query_params.get(Param.VISITOR)
        st.session_state[Key.SESSION] = (from_address if store.is_session_id(from_address)
                                         else store.new_session_id())
    session = st.session_state[Key.SESSION]
    if st.query_params.get(Param.VISITOR) != session:
        st.query_params[Param.VISITOR] = session
    return session
