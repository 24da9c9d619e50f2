"""Chain core: transaction and block execution, block validation and genesis."""
