"""File formats that data is read from: CSV (through pandas) and IDX images."""
