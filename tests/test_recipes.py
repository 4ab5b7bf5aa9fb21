"""Recipes and settings: declared once with their help, the same in the CLI, the checkpoints and the Train tab."""

from dataclasses import asdict, fields

import pytest
import torch
from streamlit.testing.v1 import AppTest

import rnnviz.train as cli
from rnnviz import CELL_TYPES, load_model
from rnnviz.recipes import APP_RECIPE, CLI_RECIPE, RECIPES, Settings, help_of, recipe_settings
from rnnviz.serving import store
from rnnviz.serving.jobs import JobState
from tests.conftest import ROOT, wait_for
from ui import cache
from ui.state import Key, Tab

FORM = {  # the Train tab's form: widget key -> the setting it shows
    Key.TRAIN_CELL: "cell_type", Key.TRAIN_HIDDEN: "hidden", Key.TRAIN_EPOCHS: "epochs",
    Key.TRAIN_IMAGES: "limit", Key.TRAIN_LR: "lr", Key.TRAIN_BATCH: "batch_size",
}


@pytest.fixture
def trained(monkeypatch):
    """Run the CLI without training: returns a function of argv that gives the Settings main() would train."""
    given = []

    def fake_train(settings, data=None, out=None, **_):
        given.append(settings)
        return None, {"test_accuracy": 0.5, "val_accuracy": 0.5}

    monkeypatch.setattr(cli, "train", fake_train)

    def run(*argv: str) -> Settings:
        cli.main([*argv, "--out", "never-written.safetensors"])
        [settings] = given[-1:]
        return settings

    return run


def help_blocks(capsys, monkeypatch) -> dict[str, str]:
    """`python -m rnnviz.train --help`: each option's flag -> its whole entry, on one line."""
    monkeypatch.setenv("COLUMNS", "1000")  # no wrapping (argparse would break words at hyphens)
    with pytest.raises(SystemExit) as exit:
        cli.main(["--help"])
    assert exit.value.code == 0
    blocks, flag = {}, None
    for line in capsys.readouterr().out.splitlines():
        if line.startswith("  -"):
            flag = line.split()[0].rstrip(",")
            blocks[flag] = line
        elif flag and line.startswith("   "):  # the entry's help, continued
            blocks[flag] += line
        else:
            flag = None
    return {flag: " ".join(block.split()) for flag, block in blocks.items()}


def flag(name: str) -> str:
    return f"--{name.replace('_', '-')}"


def trained_with(cell_type: str) -> dict:
    """The settings a shipped checkpoint stores (older checkpoints call cell_type "cell", and predate the
    settings added since, whose defaults are what they were trained with: e.g. no pen digits)."""
    stored = dict(load_model(store.shipped_path(cell_type)).info["settings"])
    if "cell" in stored:
        stored["cell_type"] = stored.pop("cell")
    return {**asdict(Settings()), **stored}


def test_every_setting_has_help():
    for setting in fields(Settings):
        assert isinstance(setting.metadata.get("help"), str) and len(setting.metadata["help"]) > 10, setting.name
        assert help_of(setting.name) == setting.metadata["help"]


def test_help_lists_a_flag_with_its_help_for_every_setting(capsys, monkeypatch):
    blocks = help_blocks(capsys, monkeypatch)
    for setting in fields(Settings):
        assert flag(setting.name) in blocks, f"no {flag(setting.name)} in --help"
        assert " ".join(help_of(setting.name).split()) in blocks[flag(setting.name)]
    assert "{" + ",".join(CELL_TYPES) + "}" in blocks["--cell-type"]  # the choices are shown


def test_help_lists_every_recipe_with_its_description(capsys, monkeypatch):
    recipe = help_blocks(capsys, monkeypatch)["--recipe"]
    assert "{" + ",".join(RECIPES) + "}" in recipe
    for name, described in RECIPES.items():
        assert f"{name}: {described.description}" in recipe


def test_no_flags_give_the_recipe(trained):
    for name, recipe in RECIPES.items():
        assert trained("--recipe", name) == recipe.settings
    assert trained() == RECIPES[CLI_RECIPE].settings  # the default recipe


def other_value(setting, recipe: Settings):
    """A value of `setting` that differs from the recipe's, as typed on the command line."""
    value = getattr(recipe, setting.name)
    if setting.name == "cell_type":
        return next(cell for cell in CELL_TYPES if cell != value)
    if setting.type is str:
        return f"{value}other.safetensors"
    if setting.type is float:
        return value / 4 + 0.125  # not a whole number: a float flag must keep the fraction
    return value + 3


def test_every_flag_parses_to_the_setting_type_and_overrides_the_recipe(trained):
    recipe = RECIPES[APP_RECIPE].settings
    changes = {setting.name: other_value(setting, recipe) for setting in fields(Settings)}
    argv = [word for name, value in changes.items() for word in (flag(name), str(value))]
    settings = trained("--recipe", APP_RECIPE, *argv)
    assert settings == recipe_settings(APP_RECIPE, **changes)
    for setting in fields(Settings):
        assert type(getattr(settings, setting.name)) is setting.type, setting.name


def test_some_flags_change_only_those_settings(trained):
    settings = trained("--recipe", "rnn", "--epochs", "3", "--lr", "0.01")
    assert settings == recipe_settings("rnn", epochs=3, lr=0.01)
    assert settings.augment == 0.5  # the rest is the recipe's, not the defaults


@pytest.mark.parametrize("cell_type", store.SHIPPED)
def test_the_shipped_recipes_reproduce_the_shipped_checkpoints(trained, cell_type):
    """`--recipe lstm` (gru, rnn) trains with exactly the settings models/lstm.safetensors says it was trained with;
    settings added since a checkpoint was trained are at their defaults (what was done then)."""
    recipe, stored = asdict(trained("--recipe", cell_type)), trained_with(cell_type)
    newer = {name: value for name, value in asdict(Settings()).items() if name not in stored}
    assert recipe == {**newer, **stored}


def test_an_unknown_recipe_is_refused_naming_the_recipes(capsys):
    with pytest.raises(ValueError, match="no recipe 'huge'") as refused:
        recipe_settings("huge")
    assert all(name in str(refused.value) for name in RECIPES)
    with pytest.raises(SystemExit):
        cli.main(["--recipe", "huge", "--out", "never-written.safetensors"])
    assert "invalid choice: 'huge'" in capsys.readouterr().err


def test_an_unknown_setting_is_refused():
    with pytest.raises(TypeError):
        recipe_settings(APP_RECIPE, hidden_units=64)


@pytest.fixture
def train_tab(user_models):
    """The app with its Train tab open, run once."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state[Key.TAB] = Tab.TRAIN
    threads = torch.get_num_threads()
    yield at.run()
    torch.set_num_threads(threads)  # the app runs in this process and sets its own


def form_widget(at, key: Key):
    [widget] = [w for kind in ("selectbox", "select_slider", "number_input") for w in at.get(kind) if w.key == key]
    return widget


def form_values(at) -> dict:
    """The settings the Train tab's form shows."""
    return {name: form_widget(at, key).value for key, name in FORM.items()}


def test_the_train_tab_offers_the_cli_recipes_and_fills_the_form_from_each(train_tab):
    at = train_tab
    assert not at.exception
    recipe = at.selectbox(key=Key.RECIPE)
    assert recipe.options == list(RECIPES) and recipe.value == APP_RECIPE
    assert form_values(at) == {name: getattr(RECIPES[APP_RECIPE].settings, name) for name in FORM.values()}
    for name in [*(n for n in RECIPES if n != APP_RECIPE), APP_RECIPE]:
        at.selectbox(key=Key.RECIPE).select(name).run()
        assert not at.exception
        assert form_values(at) == {setting: getattr(RECIPES[name].settings, setting) for setting in FORM.values()}
        assert RECIPES[name].description in " ".join(caption.value for caption in at.caption)


def test_the_form_explains_each_setting_with_the_cli_help(train_tab):
    for key, name in FORM.items():
        assert form_widget(train_tab, key).help == help_of(name)


@pytest.mark.slow
def test_start_training_trains_the_recipe_with_the_form_changes(train_tab, user_models, offline_mnist):
    at = train_tab.selectbox(key=Key.RECIPE).select("tutorial").run()
    at.selectbox(key=Key.TRAIN_CELL).select("gru")
    at.select_slider(key=Key.TRAIN_HIDDEN).set_value(32)
    at.number_input(key=Key.TRAIN_EPOCHS).set_value(1)
    at.select_slider(key=Key.TRAIN_IMAGES).set_value(2000)
    at.button(key=Key.START_TRAINING).click().run()
    assert not at.exception
    visitor, queue = at.session_state[Key.VISITOR], cache.training_queue()
    queue.stop(visitor, queue.latest(visitor).id)
    status = wait_for(queue, visitor)
    assert status.settings == recipe_settings("tutorial", **form_values(at))
    assert status.settings == recipe_settings("tutorial", cell_type="gru", hidden=32, epochs=1, limit=2000)
    assert status.settings.augment != Settings().augment  # the recipe's, which the form does not show
    assert status.state in (JobState.STOPPED, JobState.CANCELLED), status
