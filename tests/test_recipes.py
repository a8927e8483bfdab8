import importlib.util

from digitlib.constants import PACKAGE_DIR
from digitlib.models.zoo import variant

spec = importlib.util.spec_from_file_location("recipes", PACKAGE_DIR.parent / "benchmarks" / "recipes.py")
recipes = importlib.util.module_from_spec(spec)
spec.loader.exec_module(recipes)


def test_a_change_goes_to_the_recipe_or_else_to_the_architecture():
    best = variant("best")
    arch, args, recipe = recipes.changed("best", {"dropout": 0.4, "lr": 2e-3, "augment": {"degrees": 8}})
    assert arch == best.arch and args == {**best.args, "dropout": 0.4}
    assert recipe.lr == 2e-3 and recipe.epochs == best.recipe.epochs
    assert recipe.augment.degrees == 8 and recipe.augment.translate == 0.1  # Augment's own default for the rest
    assert recipes.changed("best", {}) == (best.arch, best.args, best.recipe)
    assert recipes.changed("best", {"augment": None})[2].augment is None


def test_settings_are_read_as_json():
    assert recipes.setting('augment={"scale": [0.9, 1.1]}') == ("augment", {"scale": [0.9, 1.1]})
    assert recipes.setting("hidden=[64]") == ("hidden", [64])
