"""The node shell: services that connect the pure core to sockets, disk and the clock."""
