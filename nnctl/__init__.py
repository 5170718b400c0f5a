"""nnctl: train neural networks from YAML config files with a NumPy engine."""

__version__ = "0.1.0"
