"""Pure helpers with no I/O."""
