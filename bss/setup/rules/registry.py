"""What the rules area adds to menus, search and hooks at start-up."""


def register() -> None:
    """Called from SetupConfig.ready()."""
