"""``python -m ecs5probe``."""

from ecs5probe.cli import main

if __name__ == "__main__":
    main()
