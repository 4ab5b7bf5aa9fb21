"""Data: MNIST (found on disk or downloaded), training-time augmentation, real pen digits (replayed as
canvas drawings, and mixed into training), the shipped gallery of test digits, and generated drawings
that are not one digit.

    mnist.py          MNIST as tensors; the download; the validation split
    augment.py        writer styles, rotation, scale, shear, shift, wobble, closing, stroke thickness
    pendigits.py      pen strokes placed and painted as the app's canvas paints them
    pen_training.py   pen digits rendered once as training images, and mixed into MNIST
    gallery.py        the gallery of MNIST test digits that ships with the app
    nondigits.py      scribbles, digit pairs, letters: what the unsure signal is checked against
"""
