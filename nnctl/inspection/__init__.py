"""Seeing inside a network: inspect, layer statistics, trace, gradcheck, doctor (DESIGN.md)."""
