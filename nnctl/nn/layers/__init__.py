"""Layers: each computes its forward pass and its gradients; optimizers change the weights.

`base.Layer` is the protocol a network's layers meet; `dense.Dense` is the reference layer, its
code the formula. The faster `nnctl.nn.fast.dense.FastDense` computes the same numbers.
"""
