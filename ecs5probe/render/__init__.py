"""Renderers: results in, text out. Pure; only the CLI writes files."""
