"""Live delivery: the hub that feeds sockets from the event log, and what each socket may see."""
