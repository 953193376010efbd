"""``auralab demo``: a Gradio page with one tab per task (enhance, classify, EQ).

The work is done by :mod:`auralab.demo.handlers` (plain functions, no Gradio import, tested on
their own); :mod:`auralab.demo.app` only lays out the page and turns errors into messages.
"""
