"""The pure, vectorised domain core: no I/O, no clock, no database, no logging."""
