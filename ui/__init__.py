"""The Streamlit page, one module per tab (app.py assembles them).

    state.py        every session-state key, query parameter and shared label (the only place they are spelled)
    cache.py        what is loaded once per server: models, the gallery, MNIST, kept statistics, the training queue
    visitor.py      who the visitor is: the id of their own model folder, kept in the page's address
    page.py         the page's own stylesheet (page.css)
    widgets.py      shared pieces: a guarded part, a chart with its PNG download, downloads of a trace, getting MNIST
    sidebar.py      the model picker and "Add a checkpoint"
    canvas.py       the drawing canvas -> the 28x28 image the network reads (decoded once per drawing)
    digit.py        the digit: drawn, from the gallery or from the MNIST test set
    prediction.py   the answer beside the drawing: the prediction, whether to trust it, the image read
    address.py      a view written into a link's query, and read back value by value
    link.py         what a link (or a lesson step) sets up
    lesson.py       the guided lesson, its steps in lesson.toml
    views/          mounts the views drawn in the browser (their code: rnnviz/web/) and makes their offline replays
    inspect_tab.py, compare_tab.py, insight_tab.py, evaluate_tab.py, train_tab.py   the tabs

The UI lays out and never computes: it calls rnnviz for every number and every figure.
"""
