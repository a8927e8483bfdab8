"""Facts used everywhere: MNIST's shape and normalisation, and where data and weights live."""

import os
from pathlib import Path

import platformdirs

PACKAGE_DIR = Path(__file__).resolve().parent
ROOT = PACKAGE_DIR.parent  # in a clone (or an editable install of one), the repository's top folder
IN_CLONE = (ROOT / "pyproject.toml").is_file() and (ROOT / "weights").is_dir()
DATA_ENV = "DIGITLIB_DATA"

# Shipped weights: weights/ in a clone; in an installed package, the copy the wheel carries inside it.
WEIGHTS_DIR = ROOT / "weights" if IN_CLONE else PACKAGE_DIR / "shipped_weights"
# Downloads (MNIST): $DIGITLIB_DATA if set, else data/ in a clone, else a per-user folder (~/.local/share/digitlib
# on Linux), as scikit-learn does; never inside an installed package.
if os.environ.get(DATA_ENV):
    DATA_DIR = Path(os.environ[DATA_ENV]).expanduser().absolute()
elif IN_CLONE:
    DATA_DIR = ROOT / "data"
else:
    DATA_DIR = Path(platformdirs.user_data_dir("digitlib", appauthor=False))
# Where `train` writes by default: weights/ in a clone; in an installed package, weights/ in the data folder.
TRAINED_DIR = WEIGHTS_DIR if IN_CLONE else DATA_DIR / "weights"

IMAGE_SIZE = 28  # MNIST images are 28x28
DIGIT_BOX = 20  # MNIST digits are scaled to fit a 20x20 box, then centred by mass in 28x28
NUM_CLASSES = 10
CLASSES = tuple(str(d) for d in range(NUM_CLASSES))

# Mean and standard deviation of all pixels (scaled to [0, 1]) of the 60,000 training images;
# notebooks/01_data_exploration derives them from the data.
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081

# NAME.json and NAME.onnx name the one NAME.safetensors they were written with, by its sha256 under this key
SHA256_KEY = "safetensors_sha256"

DEFAULT_MODEL = "best"  # the shipped model the CLI and the dashboard read with unless told otherwise
