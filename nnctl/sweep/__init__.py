"""Hyperparameter sweeps on Optuna: the sweep file, the objective, the study and its workers."""
