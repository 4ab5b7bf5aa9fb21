"""What to train: the training settings, and named recipes as data.

Every setting is declared once, here, with its help text: the CLI builds its flags from these
fields (`python -m rnnviz.train --help`) and the app's Train tab offers the same recipes.

    python -m rnnviz.train --recipe lstm --out models/lstm.safetensors  # the shipped LSTM: MNIST and real pen digits
    python -m rnnviz.train --recipe lstm-mnist --out lstm-mnist.safetensors  # MNIST only
    python -m rnnviz.train --recipe minute --epochs 3 --out lstm-3.safetensors  # a recipe, one setting changed
"""

from dataclasses import dataclass, field, fields, replace

from .config import MAX_BRUSH, MIN_BRUSH
from .model import CELL_TYPES


def _setting(default, help: str, **extra):
    return field(default=default, metadata={"help": help, **extra})


@dataclass(frozen=True)
class Settings:
    """Everything that decides how a model is trained (stored in its checkpoint)."""

    cell_type: str = _setting("lstm", "recurrent cell", choices=CELL_TYPES)
    hidden: int = _setting(100, "hidden units (the size of h, and of c for the LSTM)")
    epochs: int = _setting(20, "passes over the training images")
    batch_size: int = _setting(128, "images per optimiser step")
    lr: float = _setting(2e-3, "Adam's learning rate at the start (it decays to 0 on a cosine)")
    augment: float = _setting(1.0, "augmentation strength (rotation, scale, shear, shift, wobble, stroke "
                                   "width, writer styles); 0 turns it off")
    elastic: float = _setting(0.0, "Simard et al.'s (2003) elastic distortion of the training images at this "
                                   "strength, on top of the augmentation (1: a random field smoothed by a 4 px "
                                   "Gaussian, times 34 px); 0 = off")
    clip: float = _setting(1.0, "largest gradient norm; larger gradients are scaled down to it")
    ema: float = _setting(0.0, "decay of an exponential moving average of the weights, updated after every step "
                               "(e.g. 0.999); the run saves the average, not its last weights; 0 = off")
    swa_epochs: int = _setting(0, "stochastic weight averaging (Izmailov et al., 2018): the last this many epochs "
                                  "run at the constant rate swa_lr and the run saves the average of the weights at "
                                  "their ends, not its last weights; 0 = off")
    swa_lr: float = _setting(2e-4, "the learning rate of the averaged epochs: with swa_epochs the cosine falls from "
                                   "lr to this, not to 0, over the epochs before them")
    val_size: int = _setting(5000, "training images held out to measure validation accuracy")
    limit: int = _setting(0, "train on only this many images (0 = all), for quick runs")
    seed: int = _setting(0, "random seed: the same seed and settings give the same run")
    start_from: str = _setting("", "a checkpoint to fine-tune (same cell type and hidden size); empty = random "
                                   "weights")
    pen_share: float = _setting(0.0, "share of the training images that are real pen digits replayed as canvas "
                                     "drawings (rnnviz/data/pen_training.py); 0 = MNIST only")
    pen_digits: str = _setting("", "the pen digits to train on: comma-separated .jsonl files, FILE:SOURCE for "
                                   "one institution's rows only (e.g. train.jsonl,more-writers.jsonl:syn); a bare "
                                   "file name is in the workspace's shared/pen-digits/; empty = train.jsonl; never "
                                   "the dev set")
    pen_max_brush: float = _setting(float(MAX_BRUSH), f"pen digits are replayed with a brush {MIN_BRUSH} px to this "
                                                      "wide (the canvas slider's range)")
    pen_min_height: float = _setting(0.3, "pen digits are replayed this tall (fraction of the canvas) up to 95%")
    pen_styles: float = _setting(0.0, "share of the pen 0s, 1s and 7s replayed in a European style: a slashed 0, "
                                      "a 1 with a long upstroke, a 7 with a crossbar (random lengths and angles)")
    pen_hooked_9s: float = _setting(0.0, "share of the pen 9s replayed with the stem's end hooked to the left, "
                                         "as many writers end it (a random radius and turn); 0 = off")
    pen_strokes_moved: float = _setting(0.0, "each pen digit's strokes moved on their own at this strength: at 1, "
                                             "each turned up to 10 degrees, scaled up to 10%, shifted up to 4% of "
                                             "the digit and resampled at a random pen speed; 0 = off")


def help_of(name: str) -> str:
    """The help text of setting `name`."""
    return next(f.metadata["help"] for f in fields(Settings) if f.name == name)


@dataclass(frozen=True)
class Recipe:
    """Named settings, and what they are for (shown by --help and in the Train tab)."""

    settings: Settings
    description: str


PEN_WRITERS = "train.jsonl,more-writers.jsonl"  # the shipped recipes' pen digits: every institution

RECIPES = {
    "lstm": Recipe(Settings(cell_type="lstm", hidden=100, epochs=50, pen_share=0.3, pen_digits=PEN_WRITERS,
                            pen_styles=0.5),
                   "the shipped models/lstm.safetensors: MNIST with real pen digits of three institutions mixed "
                   "in from the start (brushes across the canvas slider's range), half their 0s, 1s and 7s with a "
                   "European stroke, 50 epochs"),
    "gru": Recipe(Settings(cell_type="gru", hidden=100, epochs=50, pen_share=0.3, pen_digits=PEN_WRITERS,
                           pen_styles=0.5),
                  "the shipped models/gru.safetensors: as the LSTM's"),
    "rnn": Recipe(Settings(cell_type="rnn", hidden=100, epochs=80, lr=1e-3, augment=0.5, clip=0.5, pen_share=0.3,
                           pen_max_brush=32.0, pen_digits=PEN_WRITERS, pen_styles=0.5, pen_hooked_9s=0.5),
                  "the shipped models/rnn.safetensors: as the LSTM's, but a lower learning rate, milder "
                  "augmentation and gradient clipping at 0.5 keep it stable; brushes up to 32 px (up to 40 px it "
                  "read worse); 80 epochs; half its pen 9s with a hooked tail, which it read as 3s"),
    "lstm-mnist": Recipe(Settings(cell_type="lstm", hidden=100, epochs=30),
                         "MNIST only (no pen digits needed): 30 epochs with augmentation, about 4 min on 2 idle cores"),
    "gru-mnist": Recipe(Settings(cell_type="gru", hidden=100, epochs=30), "MNIST only, as lstm-mnist"),
    "rnn-mnist": Recipe(Settings(cell_type="rnn", hidden=100, epochs=30, lr=1e-3, augment=0.5),
                        "MNIST only, with the RNN's lower learning rate and milder augmentation"),
    "tutorial": Recipe(Settings(cell_type="lstm", hidden=100, epochs=6, batch_size=50, lr=1e-3, augment=0),
                       "the TensorFlow tutorial's network and budget, with a correct loss (98.7% test)"),
    "minute": Recipe(Settings(cell_type="lstm", hidden=100, epochs=4, lr=5e-3, augment=0.5),
                     "the shipped LSTM's network in 4 epochs with milder augmentation: about 98.7% test, in "
                     "about a minute on one idle core"),
}
APP_RECIPE = "minute"  # the Train tab's default
CLI_RECIPE = "lstm-mnist"  # python -m rnnviz.train's default: it needs MNIST and nothing else


def recipe_settings(name: str, **changes) -> Settings:
    """The settings of recipe `name`, with some of them changed."""
    if name not in RECIPES:
        raise ValueError(f"no recipe {name!r}; the recipes are {', '.join(RECIPES)}")
    return replace(RECIPES[name].settings, **changes)
