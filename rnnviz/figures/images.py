"""Digits as pictures for the page: enlarged in whole pixels."""

import numpy as np


def enlarged(image: np.ndarray, times: int) -> np.ndarray:
    """A (28, 28) image scaled up by whole pixels, so that it stays crisp when shown."""
    return np.kron(image, np.ones((times, times)))

