"""Catnest: a NapCat-compatible OneBot 11 server backed by a persistent chat world."""

__version__ = "0.1.0"
