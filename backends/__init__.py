"""Backends: passes over the pipeline graph (installed as ``irgraph.backends``).

Each backend lives in its own module and imports its heavy dependency only there, so
``import irgraph`` stays light.
"""
