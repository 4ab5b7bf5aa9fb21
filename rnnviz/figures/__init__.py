"""Figures: pure functions from traces and statistics (numpy arrays) to plotly figures and images.

    palette.py   every colour, in one place (the browser views get theirs from here too)
    steps.py     Inspect's step figure: one model reading one digit, frame by frame
    charts.py    small charts: class probabilities, models side by side, training curves; PNG export
    insight.py   Insight's and Evaluate's charts of measures and test-set statistics
    images.py    digits enlarged in whole pixels, and strips of them
"""
