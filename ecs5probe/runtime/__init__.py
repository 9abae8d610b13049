"""Runtimes run containers for the probe; only ``runtime.docker`` talks to Docker."""
