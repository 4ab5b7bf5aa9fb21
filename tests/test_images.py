"""Digits as pictures: enlarged in whole pixels."""

import numpy as np

from rnnviz.figures import images as pictures


def test_enlarged_keeps_whole_pixels():
    image = np.random.default_rng(0).random((28, 28))
    big = pictures.enlarged(image, 3)
    assert big.shape == (84, 84) and np.array_equal(big[::3, ::3], image) and np.array_equal(big[2::3, 2::3], image)
