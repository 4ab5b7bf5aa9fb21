"""Figures: pure functions from traces and statistics (numpy arrays) to plotly figures and images. (The
views that play step by step are drawn in the browser: rnnviz/browser_data.py makes their data,
rnnviz/web/ draws them, ui/views/ mounts them.)

    palette.py         every colour, in one place (the browser views get theirs from here too)
    charts.py          static charts: models side by side over every step, training curves; PNG export
    measure_charts.py  the charts of what the models do: Insight's, Evaluate's confusion, Compare's memory
    images.py          digits enlarged in whole pixels, and strips of them
"""
