"""Renderers: they read verdicts and facts and never change them."""
