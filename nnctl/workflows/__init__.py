"""One module per user operation (train, resume, evaluate, predict, ...).

The only place where a `Config` becomes engine objects.
"""
