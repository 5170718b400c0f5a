"""Looking inside a network: inspect, layer statistics, trace, gradcheck, doctor."""
