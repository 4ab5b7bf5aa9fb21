"""Figures: pure functions from traces and statistics (numpy arrays) to plotly figures and images. (The
views that play step by step are drawn in the browser: rnnviz/browser_data.py makes their data, ui/views/ draws.)

    palette.py   every colour, in one place (the browser views get theirs from here too)
    charts.py    static charts: models side by side over every step, training curves; PNG export
    insight.py   Insight's and Evaluate's charts of measures and test-set statistics
    images.py    digits enlarged in whole pixels, and strips of them
"""
