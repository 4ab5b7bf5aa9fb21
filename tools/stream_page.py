"""The app's page without a browser: Streamlit's own websocket protocol, spoken as the page speaks it.

A StreamPage opens a session (/_stcore/stream, the first run), keeps the address the server sets (the
`visitor=` id) and the widget states it has set, and at a pause in drawing sends the drawing as the live view
does (rnnviz/web/live.js: its state {"drawing": {"data": PNG data URL, "in_sight": ...}}). Each call waits for
the run that answers it and returns what the server sent. Shared by bench/lecture_hall.py and its test.
"""

import asyncio
import base64
import io
import json
import time
from dataclasses import dataclass, field

import numpy as np
import websockets
from PIL import Image
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from rnnviz.config import CANVAS_SIDE, DEFAULT_BRUSH
from rnnviz.data import pendigits
from rnnviz.preprocess import PNG_URL
from ui.state import Key

SUBPROTOCOLS = ["streamlit", "PLACEHOLDER_AUTH_TOKEN"]  # the page's: no XSRF token, no session to resume
EARLY_FOR_RERUN = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_EARLY_FOR_RERUN")


def png_url(rgba: np.ndarray) -> str:
    """A canvas's pixels as the canvas sends them: a PNG data URL."""
    buffer = io.BytesIO()
    Image.fromarray(rgba).save(buffer, "PNG")
    return PNG_URL + base64.b64encode(buffer.getvalue()).decode()


def pen_drawing(record: dict, rng: np.random.Generator) -> np.ndarray:
    """A pen digit drawn anywhere on the app's canvas at its default brush: (side, side, 4) RGBA."""
    strokes = pendigits.place(record["strokes"], 0.7, DEFAULT_BRUSH, rng, CANVAS_SIDE)
    return pendigits.render(strokes, DEFAULT_BRUSH)


@dataclass
class Answer:
    """What the server sent for one message of the page, until the run that answers it finished."""
    seconds: float  # from sending to that run's script_finished
    messages: list[ForwardMsg]

    def elements(self) -> list:
        """The new elements of the answer, each the element's own proto (alert, bidi_component, ...)."""
        return [getattr(m.delta.new_element, m.delta.new_element.WhichOneof("type")) for m in self.messages
                if m.WhichOneof("type") == "delta" and m.delta.WhichOneof("type") == "new_element"]

    def alerts(self) -> list[str]:
        """The texts of the answer's st.error, st.warning and st.info."""
        return [m.delta.new_element.alert.body for m in self.messages
                if m.WhichOneof("type") == "delta" and m.delta.new_element.WhichOneof("type") == "alert"]

    def link(self) -> str | None:
        """The query of the link the answer's Inspect or Compare view carries (the digit, the models, the tab):
        the view it shows, in words the server made; None if it carries none."""
        for key in (Key.INSPECT_VIEW, Key.COMPARE_VIEW):
            view = self.component_data(key)
            if view and "query" in view.get("link", {}):
                return view["link"]["query"]
        return None

    def component_data(self, key: str) -> dict | None:
        """The JSON data of the component keyed `key` in the answer, None if the answer has none."""
        for element in self.elements():
            if getattr(element, "id", "").endswith(f"-{key}") and element.WhichOneof("data") == "json":
                return json.loads(element.json)
        return None


@dataclass
class StreamPage:
    """One visitor's page, over its own websocket."""
    url: str
    socket: websockets.ClientConnection
    timeout: float
    cookie: str = ""  # what the balancer set (its replica key), sent again as a browser would
    query: str = ""
    page_hash: str = ""
    widget_ids: dict[str, str] = field(default_factory=dict)  # key -> the widget's id, as the server made it
    widget_states: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (kind of value, value)

    @classmethod
    async def open(cls, url: str, timeout: float = 60) -> tuple["StreamPage", Answer]:
        """Open a session on the app at `url` (http://host:port) and run the page once, as a browser does."""
        page = cls(url, await cls._connect(url, "", timeout), timeout)
        page.cookie = "; ".join(value.split(";", 1)[0] for value in page.socket.response.headers.get_all("Set-Cookie"))
        return page, await page.rerun()

    @staticmethod
    async def _connect(url: str, cookie: str, timeout: float) -> websockets.ClientConnection:
        return await websockets.connect(url.replace("http", "ws", 1) + "/_stcore/stream", subprotocols=SUBPROTOCOLS,
                                        additional_headers={"Cookie": cookie} if cookie else None, max_size=None,
                                        ping_interval=None, open_timeout=timeout)

    async def reconnect(self) -> Answer:
        """The page's socket closed (its server lost): open another, as the page does, and send what the page
        holds (the address, every widget's state) for the server that answers to run the page anew."""
        self.socket = await self._connect(self.url, self.cookie, self.timeout)
        return await self.rerun()

    async def closed_within(self, seconds: float) -> bool:
        """Wait `seconds`, or less if the socket closes meanwhile: whether it did."""
        try:
            await asyncio.wait_for(asyncio.shield(self.socket.wait_closed()), seconds)
        except TimeoutError:
            return False
        return True

    async def draw(self, url: str, in_sight: bool = False) -> Answer:
        """A pause in drawing: the live view's state becomes this drawing (a PNG data URL)."""
        state = json.dumps({"drawing": {"data": url, "in_sight": in_sight}})
        return await self.rerun({Key.LIVE_VIEW: ("json_value", state)})

    async def open_tab(self, name: str) -> Answer:
        """Click the tab `name` (ui.state.Tab)."""
        return await self.rerun({Key.TAB: ("string_value", name)})

    async def rerun(self, changed: dict[str, tuple[str, str]] | None = None) -> Answer:
        """Send the page's widget states with `changed` applied, and wait for the run that answers."""
        self.widget_states.update(changed or {})
        message = BackMsg()
        message.rerun_script.query_string = self.query
        message.rerun_script.page_script_hash = self.page_hash
        for key, (kind, value) in self.widget_states.items():
            widget = message.rerun_script.widget_states.widgets.add()
            widget.id = self.widget_ids[key]
            setattr(widget, kind, value)
        started = time.perf_counter()
        await self.socket.send(message.SerializeToString())
        messages = await asyncio.wait_for(self._until_finished(), self.timeout)
        return Answer(time.perf_counter() - started, messages)

    async def _until_finished(self) -> list[ForwardMsg]:
        """The server's messages up to a finished run (one that ended early, for the rerun it asked for, is not)."""
        messages = []
        while True:
            message = ForwardMsg()
            message.ParseFromString(await self.socket.recv())
            messages.append(message)
            self._learn(message)
            if message.WhichOneof("type") == "script_finished" and message.script_finished != EARLY_FOR_RERUN:
                return messages

    def _learn(self, message: ForwardMsg) -> None:
        """Keep what a page keeps: the page's hash, the address the server set, the ids of its widgets."""
        kind = message.WhichOneof("type")
        if kind == "new_session":
            self.page_hash = message.new_session.page_script_hash
        elif kind == "page_info_changed":
            self.query = message.page_info_changed.query_string
        elif kind == "delta" and message.delta.WhichOneof("type") in ("new_element", "add_block"):
            delta = message.delta
            part = delta.new_element.WhichOneof("type") if delta.WhichOneof("type") == "new_element" else None
            element = getattr(delta.new_element, part) if part else delta.add_block
            widget_id = getattr(element, "id", "")
            if widget_id.startswith("$$ID-"):  # "$$ID-<hash>-<key>"
                self.widget_ids[widget_id.split("-", 2)[2]] = widget_id

    async def close(self) -> None:
        await self.socket.close()
