"""Layers: each computes its forward pass and its gradients; optimizers change the weights."""
