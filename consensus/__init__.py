"""FBFT consensus: a pure state machine, quorum by voting power, view change and double-sign evidence."""
