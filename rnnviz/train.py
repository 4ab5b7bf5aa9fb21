"""Train a RowReader on MNIST (with real pen digits mixed in, when the recipe says so).

    python -m rnnviz.train --recipe lstm --out models/lstm.safetensors  # recipes and settings: rnnviz/recipes.py
    python -m rnnviz.train --cell-type gru --hidden 64 --epochs 5 --out my-gru.safetensors
    python -m rnnviz.train --recipe lstm --device cuda --out lstm.safetensors  # on a GPU (--device auto takes one)

Seeded and reproducible; a held-out validation split; Adam with a cosine learning-rate decay
and gradient clipping; optionally an average of the weights, which is then what is saved: a
moving average over every step (--ema) or an equal one over the last epochs' ends (--swa-epochs).
The checkpoint (weights, config, settings, measured test accuracy) is written atomically at the end.
Stopping early (Ctrl-C, or `should_stop` from the app) still saves the model trained so far, marked
as stopped early.

Speed: the CLI uses all cores (torch's default thread count; --threads changes it). The
augmentation of the next chunk of images runs in a background thread when a core is spare (fewer
torch threads than cores, or a GPU doing the training), else between steps on torch's own threads:
a second busy thread next to OpenMP threads that already fill every core slows both.
"""

import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm import tqdm

from . import cli
from .checkpoint import load_model, save_checkpoint
from .data.augment import augment
from .data.mnist import load_mnist, split_train_val
from .data.pen_training import mix_in
from .device import resolve_device
from .evaluate import accuracy
from .model import RowReader
from .recipes import CLI_RECIPE, RECIPES, Settings, recipe_settings

BAR_POSTFIX_EVERY = 20  # batches between updates of the progress bar's loss and accuracy (formatting costs 3%)


@dataclass
class Progress:
    """What the training loop reports after every batch (and at each epoch end)."""

    epoch: int  # 1-based
    step: int  # batches done so far
    total_steps: int
    loss: float  # running mean over the current epoch
    train_accuracy: float  # running mean over the current epoch
    val_accuracy: float | None = None  # set at the end of each epoch
    samples_per_second: float = 0.0
    batch_loss: float | None = None  # this batch's own loss (noisy; loss above is the epoch's running mean)


def batches(images: torch.Tensor, labels: torch.Tensor, order: torch.Tensor, batch_size: int, prepare,
            chunk: int = 1024, background: bool = True):
    """One epoch's batches (prepare(images, labels), labels) in `order`.

    `prepare` (e.g. augmentation) runs on about `chunk` images at a time: few Python calls per
    batch (each one holds the GIL the training loop needs). With `background`, a thread prepares
    the next chunk while the training steps run (torch releases the GIL while it computes): that
    pays when a core is spare. When torch's threads already fill every core, a second thread only
    competes with them, so the chunk is prepared between steps by those same threads. Chunks are
    prepared in order either way: a seeded generator gives the same batches.
    """
    per_chunk = max(1, chunk // batch_size) * batch_size

    def prepared(first: int):
        index = order[first : first + per_chunk]
        return prepare(images[index], labels[index]), labels[index]

    def split(chunk_images, chunk_labels):
        for start in range(0, len(chunk_labels), batch_size):
            yield chunk_images[start : start + batch_size], chunk_labels[start : start + batch_size]

    if not background:
        for first in range(0, len(order), per_chunk):
            yield from split(*prepared(first))
        return
    with ThreadPoolExecutor(1, thread_name_prefix="prepare-batches") as pool:
        upcoming = pool.submit(prepared, 0)
        for first in range(per_chunk, len(order) + per_chunk, per_chunk):
            ready = upcoming.result()
            if first < len(order):
                upcoming = pool.submit(prepared, first)
            yield from split(*ready)


def training_data(settings: Settings, data=None):
    """((train images, labels), (validation images, labels)): MNIST's training set split by the seed,
    cut to settings.limit, with real pen digits mixed in at settings.pen_share."""
    images, labels = load_mnist("train", data)
    (train_x, train_y), validation = split_train_val(images, labels, settings.val_size, settings.seed)
    del images, labels  # the split copied them: 190 MB less held while training (a class's server runs several)
    if settings.limit:
        train_x, train_y = train_x[: settings.limit], train_y[: settings.limit]
    return mix_in(train_x, train_y, settings), validation


def cosine_rate(settings: Settings, step: int, total_steps: int) -> float:
    """The learning rate at `step`: settings.lr falling on a cosine to 0 over the whole run, or with
    settings.swa_epochs to settings.swa_lr over the epochs before the averaged ones, then held there."""
    floor = settings.swa_lr if settings.swa_epochs else 0.0
    falling_steps = total_steps * (settings.epochs - settings.swa_epochs) / settings.epochs
    if step >= falling_steps:
        return floor
    return floor + (settings.lr - floor) * 0.5 * (1 + math.cos(math.pi * step / falling_steps))


def weight_average(model: RowReader, settings: Settings) -> AveragedModel | None:
    """The average of the model's weights that the run saves: with settings.ema a moving average that
    train_epoch updates after every step, with settings.swa_epochs an equal average of the weights at
    the ends of the last epochs (train updates it); None with neither. The first update copies the weights."""
    if settings.ema and settings.swa_epochs:
        raise ValueError("ema and swa_epochs: one average of the weights or the other, not both")
    if settings.swa_epochs:
        if not 0 < settings.swa_epochs < settings.epochs:
            raise ValueError(f"swa_epochs: fewer than the run's {settings.epochs} epochs; got {settings.swa_epochs}")
        return AveragedModel(model)
    if not settings.ema:
        return None
    if not 0 < settings.ema < 1:
        raise ValueError(f"ema: a decay between 0 and 1 (e.g. 0.999), or 0 for none; got {settings.ema}")
    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(settings.ema))


def train_epoch(model: RowReader, optimizer, epoch_batches, settings: Settings, epoch: int, step: int,
                total_steps: int, report, average: AveragedModel | None = None) -> Progress:
    """One pass over the training images: a clipped Adam step per batch, the learning rate on its cosine,
    then the weights' moving average if there is one; report(Progress) after every batch. Returns the
    epoch's last Progress."""
    model.train()
    loss_sum, correct, seen, started = 0.0, 0, 0, time.perf_counter()
    for batch, target in epoch_batches:  # (B, 28, 28), (B,)
        batch, target = batch.to(model.device, non_blocking=True), target.to(model.device, non_blocking=True)
        for group in optimizer.param_groups:  # cheaper than an LR scheduler
            group["lr"] = cosine_rate(settings, step, total_steps)
        logits = model(batch)  # (B, 10)
        loss = F.cross_entropy(logits, target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), settings.clip)
        optimizer.step()
        if average is not None:
            average.update_parameters(model)
        step += 1
        batch_loss = loss.item()
        loss_sum += batch_loss * len(target)
        correct += (logits.argmax(1) == target).sum().item()
        seen += len(target)
        progress = Progress(epoch, step, total_steps, loss_sum / seen, correct / seen,
                            samples_per_second=seen / (time.perf_counter() - started), batch_loss=batch_loss)
        report(progress)
    return progress


def _start(settings: Settings) -> RowReader:
    """The checkpoint a fine-tuning run starts from; it must match the settings' cell and size."""
    if not Path(settings.start_from).exists():
        raise FileNotFoundError(f"start_from: no checkpoint {settings.start_from} (train it first, see the recipe)")
    start = load_model(settings.start_from)
    if (start.cell_type, start.hidden_size) != (settings.cell_type, settings.hidden):
        raise ValueError(f"start_from: {settings.start_from} is a {start.cell_type} with {start.hidden_size} units, "
                         f"not a {settings.cell_type} with {settings.hidden}")
    return start


def _reporter(bar: tqdm, on_progress, should_stop):
    """What runs after every batch: the progress bar, the caller's on_progress, and should_stop (which
    ends the run as Ctrl-C does)."""

    def report(progress: Progress) -> None:
        if progress.step % BAR_POSTFIX_EVERY == 0:
            bar.set_postfix(epoch=progress.epoch, loss=f"{progress.loss:.3f}", acc=f"{progress.train_accuracy:.3f}",
                            refresh=False)  # drawn by update(), at most once a second (mininterval)
        bar.update()
        if on_progress:
            on_progress(progress)
        if should_stop and should_stop():
            raise KeyboardInterrupt

    return report


@dataclass
class _Run:
    """What a run continues from: the model, the optimiser, the generator and the weights' average."""

    model: RowReader
    optimizer: torch.optim.Optimizer
    generator: torch.Generator
    average: AveragedModel | None

    def saved(self, epoch: int, history: list) -> dict:
        """The live state after `epoch` (what train's on_epoch_end gets)."""
        state = {"epoch": epoch, "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                 "generator": self.generator.get_state(), "history": history}
        return {**state, "average": self.average.state_dict()} if self.average else state

    def restore(self, state: dict) -> tuple[list, int]:
        """Continue from a `saved` state: (the history so far, the next epoch)."""
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
        if self.average:
            self.average.load_state_dict(state["average"])
        return list(state["history"]), state["epoch"] + 1


def train(settings: Settings, data=None, out=None, on_progress=None, should_stop=None,
          show_bar: bool = False, device="auto", on_epoch_end=None,
          resume: dict | None = None) -> tuple[RowReader, dict]:
    """Train a model; returns it (on the CPU) and a summary dict (also stored in the checkpoint if `out`).

    `device`: "auto" (a CUDA GPU if there is one, else the CPU), "cpu", "cuda" or a torch.device;
    a device that is not there raises rnnviz.device.DeviceMissing before any work is done.
    `on_epoch_end(state)` gets, after each epoch, what `resume=state` continues from exactly:
    {"epoch", "model", "optimizer", "generator", "history"} (state dicts, the generator's state), and
    "average" with settings.ema or swa_epochs: the live ones, save or copy them there. With an average the
    returned (and saved) model is the average (the last weights if the run stopped before its averaged
    epochs); the history's validation accuracies are the last weights'.
    """
    device = resolve_device(device) if isinstance(device, str) else device
    torch.manual_seed(settings.seed)
    generator = torch.Generator().manual_seed(settings.seed)
    (train_x, train_y), (val_x, val_y) = training_data(settings, data)
    model = RowReader(settings.cell_type, settings.hidden)
    if settings.start_from:
        model.load_state_dict(_start(settings).state_dict())
    model = model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr)
    batches_per_epoch = math.ceil(len(train_x) / settings.batch_size)
    total_steps = settings.epochs * batches_per_epoch
    average, started = weight_average(model, settings), time.perf_counter()
    state = _Run(model, optimizer, generator, average)
    history, first_epoch = state.restore(resume) if resume else ([], 1)

    def prepare(batch, target):
        return augment(batch, target, generator, settings.augment, settings.elastic) if settings.augment else batch

    spare_core = device.type != "cpu" or torch.get_num_threads() < (os.cpu_count() or 1)
    bar = tqdm(total=total_steps, unit="batch", disable=not show_bar, mininterval=1.0)
    report, stopped_early = _reporter(bar, on_progress, should_stop), False
    try:
        for epoch in range(first_epoch, settings.epochs + 1):
            order = torch.randperm(len(train_x), generator=generator)
            epoch_batches = batches(train_x, train_y, order, settings.batch_size, prepare, background=spare_core)
            progress = train_epoch(model, optimizer, epoch_batches, settings, epoch, (epoch - 1) * batches_per_epoch,
                                   total_steps, report, average if settings.ema else None)
            if settings.swa_epochs and epoch > settings.epochs - settings.swa_epochs:
                average.update_parameters(model)
            progress.val_accuracy = accuracy(model, val_x, val_y)
            history.append(asdict(progress))
            bar.write(f"epoch {epoch}: loss {progress.loss:.4f}  train acc {progress.train_accuracy:.4f}"
                      f"  val acc {progress.val_accuracy:.4f}  ({progress.samples_per_second:.0f} samples/s)")
            if on_progress:
                on_progress(progress)
            if on_epoch_end:
                on_epoch_end(state.saved(epoch, history))
    except KeyboardInterrupt:
        stopped_early = True
        bar.write(f"stopped early after {len(history)} epochs and {bar.n} batches")
    finally:
        bar.close()
    averaged = average is not None and average.n_averaged.item() > 0
    return _finish(average.module if averaged else model, settings, data, (val_x, val_y), out, history=history,
                   stopped_early=stopped_early, device=str(device),
                   train_seconds=round(time.perf_counter() - started, 1))


def _finish(model: RowReader, settings: Settings, data, validation, out, **summary) -> tuple[RowReader, dict]:
    """The trained model on the CPU, in eval mode, and its summary: test and validation accuracy,
    settings, and `summary` (history, stopped_early, device, train_seconds); saved to `out` if given."""
    test_x, test_y = load_mnist("test", data)
    summary = {"test_accuracy": accuracy(model, test_x, test_y), "val_accuracy": accuracy(model, *validation),
               "settings": asdict(settings), **summary,
               "torch_version": str(torch.__version__)}  # a plain str: weights_only loading refuses TorchVersion
    model = model.cpu()  # checkpoints and the app's models live on the CPU
    if out:
        save_checkpoint(model, out, **summary)
    return model.eval(), summary


def cli_parser():
    """The command line: a recipe, then one flag per setting (from rnnviz.recipes), then where and how to train."""
    made = cli.parser("Train a row-by-row RNN/GRU/LSTM on MNIST. A recipe gives every setting; the flags after it "
                      "change some.", checkpoints=False)
    made.add_argument("--recipe", choices=RECIPES, default=CLI_RECIPE,
                      help="; ".join(f"{name}: {recipe.description}" for name, recipe in RECIPES.items())
                      .replace("%", "%%"))  # argparse formats help with %
    for setting in fields(Settings):  # one flag per setting, its help text declared with the setting
        made.add_argument(f"--{setting.name.replace('_', '-')}", type=type(setting.default),
                          choices=setting.metadata.get("choices"), help=setting.metadata["help"].replace("%", "%%"))
    made.add_argument("--out", type=Path, required=True, help="checkpoint to write (.safetensors)")
    made.add_argument("--threads", type=int, default=0,
                      help="torch CPU threads (default 0: torch's own choice, one per core)")
    return made


def main(argv=None):
    args = vars(cli.parse(cli_parser(), argv))
    data, out, recipe = args.pop("data"), args.pop("out"), args.pop("recipe")
    device, threads = args.pop("device"), args.pop("threads")
    if threads:
        torch.set_num_threads(threads)
    settings = recipe_settings(recipe, **{name: value for name, value in args.items() if value is not None})
    _, summary = train(settings, data=data, out=out, show_bar=True, device=device)
    print(f"test accuracy {summary['test_accuracy']:.4f}  val accuracy {summary['val_accuracy']:.4f}"
          f"  -> {out}")


if __name__ == "__main__":
    main()
