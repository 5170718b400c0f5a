"""The training loop: `Trainer`, callbacks, monitors and metrics. It prints nothing; it reports."""
