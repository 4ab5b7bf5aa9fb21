"""Who the visitor is: a reload (the same address) keeps their models; a new address starts afresh."""

from rnnviz.serving import store
from tests.conftest import ROOT, app_test
from ui.state import Key, Param

GRU = (ROOT / "models" / "gru.safetensors").read_bytes()


def listed(at) -> str:
    """The model picker's labels, joined."""
    return " ".join(at.selectbox(key=Key.MODEL).options)


def test_a_reload_keeps_the_visitors_models_and_a_new_address_does_not(user_models):
    first = app_test().run()
    visitor = first.session_state[Key.VISITOR]
    assert store.is_visitor_id(visitor) and first.query_params[Param.VISITOR] == visitor
    mine, _ = store.add_checkpoint(GRU, "mine.safetensors", visitor)
    reload = app_test()
    reload.query_params[Param.VISITOR] = visitor  # the same address, a new browser session
    reload.run()
    assert reload.session_state[Key.VISITOR] == visitor and mine.stem in listed(reload)
    for address in ({}, {Param.VISITOR: "../../etc"}):  # a fresh or forged address: a new, empty folder
        other = app_test()
        other.query_params.update(address)
        other.run()
        assert other.session_state[Key.VISITOR] != visitor and mine.stem not in listed(other)
