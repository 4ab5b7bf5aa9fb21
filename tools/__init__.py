"""Helpers the tests, the benchmarks and the docs share: driving the app in Chromium (browser.py) and
building what a hostile visitor could send (attacks.py). Not part of the rnnviz package."""
