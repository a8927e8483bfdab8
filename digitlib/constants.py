"""Facts used everywhere: MNIST's shape and normalisation, and where data and weights live."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"
WEIGHTS_DIR = ROOT / "weights"

IMAGE_SIZE = 28  # MNIST images are 28x28
DIGIT_BOX = 20  # MNIST digits are scaled to fit a 20x20 box, then centred by mass in 28x28
NUM_CLASSES = 10
CLASSES = tuple(str(d) for d in range(NUM_CLASSES))

# Mean and standard deviation of all pixels (scaled to [0, 1]) of the 60,000 training images;
# notebooks/01_data_exploration derives them from the data.
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081
