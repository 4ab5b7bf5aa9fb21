"""Digits as pictures: enlarged in whole pixels, and side by side in one strip."""

import numpy as np

from rnnviz.figures import images as pictures


def test_strip_puts_enlarged_images_side_by_side(digits):
    images = digits[0][:3].numpy()
    picture = pictures.strip(images, times=2, gap=4)
    assert picture.shape == (56, 3 * 56 + 2 * 4)
    for position, image in enumerate(images):
        np.testing.assert_array_equal(picture[:, position * 60 : position * 60 + 56], pictures.enlarged(image, 2))
    assert (picture[:, 56:60] == 0.5).all()  # the gaps are grey, neither ink nor background


def test_enlarged_keeps_whole_pixels():
    image = np.random.default_rng(0).random((28, 28))
    big = pictures.enlarged(image, 3)
    assert big.shape == (84, 84) and np.array_equal(big[::3, ::3], image) and np.array_equal(big[2::3, 2::3], image)
