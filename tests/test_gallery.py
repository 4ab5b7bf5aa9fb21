"""The gallery of MNIST test digits that ships with the app: real digits, and what the shipped LSTM read."""

import numpy as np

from rnnviz import trace
from rnnviz.data import gallery


def test_the_shipped_gallery_holds_each_digit_and_some_the_lstm_misreads(shipped_models):
    shown = gallery.load()
    assert shown.images.shape == (len(shown), 28, 28) and 0 <= shown.images.min() and shown.images.max() <= 1
    assert set(shown.labels) == set(range(10)) and (shown.lstm_prediction != shown.labels).sum() >= 3
    for i in range(len(shown)):  # what the gallery says the shipped LSTM reads, it reads
        assert trace(shipped_models["lstm"], shown.images[i]).prediction == shown.lstm_prediction[i]
    misread = int(np.flatnonzero(shown.lstm_prediction != shown.labels)[0])
    assert f"reads {shown.lstm_prediction[misread]}" in shown.caption(misread)
    assert "reads" not in shown.caption(int(np.flatnonzero(shown.lstm_prediction == shown.labels)[0]))


def test_pick_takes_right_ones_of_each_class_then_wrong_ones():
    labels = np.repeat(np.arange(10), 6)
    predictions = labels.copy()
    predictions[::5] = (labels[::5] + 1) % 10  # every fifth is misread
    chosen = gallery.pick(labels, predictions, per_class=3, wrong=4)
    right, wrong = chosen[:30], chosen[30:]
    assert (labels[right] == predictions[right]).all() and np.bincount(labels[right]).tolist() == [3] * 10
    assert len(wrong) == 4 and (labels[wrong] != predictions[wrong]).all()
