"""The Keras side of bench/train_throughput.py: Keras 3 (TensorFlow) `model.fit` on the same network.

    python -m bench.keras_fit --cell lstm --threads 1 --arrays mnist.npz

Its own module, importing no torch: TensorFlow and torch in one process crash here (SIGSEGV).
train_throughput.py runs it with a Python that has tensorflow-cpu (--keras-python) and hands it
the same MNIST images as an .npz file. Prints {"samples_per_second": ...} as its last line.
"""

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up notes off stderr

import keras  # noqa: E402  after the log level, which TensorFlow reads when it loads
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", choices=("rnn", "gru", "lstm"), required=True)
    parser.add_argument("--threads", type=int, required=True, help="TensorFlow intra- and inter-op threads")
    parser.add_argument("--arrays", required=True, help=".npz with images (N, 28, 28) in [0, 1] and labels (N,)")
    parser.add_argument("--hidden", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--warmup", type=int, default=5, help="batches not timed (tracing and compiling)")
    args = parser.parse_args()
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    with np.load(args.arrays) as arrays:
        images, labels = arrays["images"], arrays["labels"]
    layer = {"rnn": keras.layers.SimpleRNN, "gru": keras.layers.GRU, "lstm": keras.layers.LSTM}[args.cell]
    model = keras.Sequential([keras.Input(images.shape[1:]), layer(args.hidden), keras.layers.Dense(10)])
    model.compile(optimizer=keras.optimizers.Adam(2e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    times = []
    timer = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: times.append(time.perf_counter()))
    model.fit(images, labels, batch_size=args.batch_size, epochs=1, verbose=0, shuffle=False, callbacks=[timer])
    speed = (len(times) - args.warmup) * args.batch_size / (times[-1] - times[args.warmup - 1])
    print(json.dumps({"samples_per_second": speed}))


if __name__ == "__main__":
    main()
