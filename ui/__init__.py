"""The Streamlit page, one module per tab (app.py assembles them).

    state.py        every session-state key and shared label (the only place they are spelled)
    cache.py        what is loaded once per server: models, the gallery, MNIST, test-set statistics, the training queue
    visitor.py      who the visitor is: the id of their own model folder, kept in the page's address
    widgets.py      shared pieces: a chart with its PNG download, downloads of a trace, getting MNIST
    sidebar.py      the model picker and "Add a checkpoint"
    canvas.py       the drawing canvas -> the 28x28 image the network reads
    digit.py        the digit: drawn, from the gallery or from the MNIST test set
    inspect_tab.py, compare_tab.py, insight_tab.py, evaluate_tab.py, train_tab.py   the tabs

The UI lays out and never computes: it calls rnnviz for every number and every figure.
"""
