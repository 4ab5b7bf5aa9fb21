"""Digits as pictures for the page: enlarged in whole pixels, and several side by side in one strip."""

import numpy as np


def enlarged(image: np.ndarray, times: int) -> np.ndarray:
    """A (28, 28) image scaled up by whole pixels, so that it stays crisp when shown."""
    return np.kron(image, np.ones((times, times)))


def strip(images: np.ndarray, times: int, gap: int = 6) -> np.ndarray:
    """Images (k, 28, 28) in [0, 1], each enlarged, side by side with a grey gap: one picture to send
    instead of k (each image the page shows is its own encoding and its own request)."""
    side = images.shape[1] * times
    picture = np.full((side, len(images) * (side + gap) - gap), 0.5)
    for position, image in enumerate(images):
        picture[:, position * (side + gap) : position * (side + gap) + side] = enlarged(image, times)
    return picture
