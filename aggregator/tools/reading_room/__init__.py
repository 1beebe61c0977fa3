"""The archive as a reading room in Datasette: a front page with charts, ranked search with
snippets and facets, an article page titled by its headline, and a search followed as Atom.

``plugin`` holds Datasette's hooks, ``pages`` the pages of our own, ``atom`` the feeds (the only
user of feedgen); the templates, the style sheet and ``metadata.yaml`` lie beside them. The
scripts and the chart library come from installed Datasette plugins (datasette-dashboards
carries Vega), so nothing is fetched from a CDN.
"""
