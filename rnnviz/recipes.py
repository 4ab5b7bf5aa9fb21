"""What to train: the training settings, and named recipes as data.

Every setting is declared once, here, with its help text: the CLI builds its flags from these
fields (`python -m rnnviz.train --help`) and the app's Train tab offers the same recipes.

    python -m rnnviz.train --recipe lstm --out models/lstm.pt       # a shipped model, as it was trained
    python -m rnnviz.train --recipe minute --epochs 3 --out lstm-3.pt  # a recipe, one setting changed
"""

from dataclasses import dataclass, field, fields, replace

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
    clip: float = _setting(1.0, "largest gradient norm; larger gradients are scaled down to it")
    val_size: int = _setting(5000, "training images held out to measure validation accuracy")
    limit: int = _setting(0, "train on only this many images (0 = all), for quick runs")
    seed: int = _setting(0, "random seed: the same seed and settings give the same run")


def help_of(name: str) -> str:
    """The help text of setting `name`."""
    return next(f.metadata["help"] for f in fields(Settings) if f.name == name)


@dataclass(frozen=True)
class Recipe:
    settings: Settings
    description: str


RECIPES = {
    "lstm": Recipe(Settings(cell_type="lstm", hidden=100, epochs=30),
                   "the shipped models/lstm.pt: 30 epochs with augmentation (its wall time: models/README.md)"),
    "gru": Recipe(Settings(cell_type="gru", hidden=100, epochs=30),
                  "the shipped models/gru.pt: 30 epochs with augmentation"),
    "rnn": Recipe(Settings(cell_type="rnn", hidden=100, epochs=30, lr=1e-3, augment=0.5),
                  "the shipped models/rnn.pt: a lower learning rate and milder augmentation keep it stable"),
    "tutorial": Recipe(Settings(cell_type="lstm", hidden=100, epochs=6, batch_size=50, lr=1e-3, augment=0),
                       "the TensorFlow tutorial's network and budget, with a correct loss (98.7% test)"),
    "minute": Recipe(Settings(cell_type="lstm", hidden=100, epochs=4, lr=5e-3, augment=0.5),
                     "the shipped LSTM's network in 4 epochs with milder augmentation: about 98.7% test, in "
                     "about a minute on one idle core"),
}
APP_RECIPE = "minute"  # the Train tab's default


def recipe_settings(name: str, **changes) -> Settings:
    """The settings of recipe `name`, with some of them changed."""
    if name not in RECIPES:
        raise ValueError(f"no recipe {name!r}; the recipes are {', '.join(RECIPES)}")
    return replace(RECIPES[name].settings, **changes)
