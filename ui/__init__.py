"""Streamlit-only glue shared by the pages: cached resources and small layout helpers.

``workbench/`` never imports Streamlit; this package is the page edge where caching wraps package calls.
"""
