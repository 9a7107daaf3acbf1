"""Pages of the Subscriptions module: the list and page, the dialogs, setup and tabs."""
