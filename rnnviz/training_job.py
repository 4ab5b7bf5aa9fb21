"""Training in a background thread, so that the app stays responsive while a model learns.

The app starts a TrainingJob and polls it: `history` grows as batches finish, `state` says
where it is, `stop()` asks it to finish early (the model trained so far is still saved).
torch releases the GIL while it computes, so other sessions keep being served.
"""

import threading
from pathlib import Path

from .data import DatasetMissing
from .recipes import Settings
from .train import Progress, train

REPORT_EVERY = 5  # keep one progress point every this many batches (plus every epoch end)


class TrainingJob:
    def __init__(self, settings: Settings, out: Path):
        self.settings = settings
        self.out = out
        self.history: list[Progress] = []  # appended by the training thread only
        self.state = "running"  # -> "done" | "stopped" | "failed"
        self.error = ""
        self.summary: dict = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"train-{out.stem}", daemon=True)
        self._thread.start()

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def latest(self) -> Progress | None:
        return self.history[-1] if self.history else None

    def stop(self) -> None:
        self._stop.set()

    def _record(self, progress: Progress) -> None:
        if progress.step % REPORT_EVERY == 0 or progress.val_accuracy is not None or progress.step == 1:
            self.history.append(Progress(**vars(progress)))  # a copy: train() updates its own in place

    def _run(self) -> None:
        try:
            _, self.summary = train(self.settings, out=self.out, on_progress=self._record,
                                    should_stop=self._stop.is_set)
            self.state = "stopped" if self.summary["stopped_early"] else "done"
        except DatasetMissing as error:
            self.error, self.state = str(error), "failed"
        except Exception as error:  # shown in the app instead of a traceback; the job is over either way
            self.error, self.state = f"{type(error).__name__}: {error}", "failed"
