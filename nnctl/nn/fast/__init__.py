"""Speed beside the math: flat buffers, row blocks, the two-thread step and flush-to-zero."""
