"""Pure core: no Docker, no terminal, no file I/O."""
