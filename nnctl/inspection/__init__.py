"""Looking inside a trained network: inspect, layer statistics, trace, gradcheck, doctor.

Each module computes plain JSON-able data for one command; `nnctl.cli.render` shows it.
"""
