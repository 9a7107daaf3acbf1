"""Pages of the Customers module, one module per record kind."""
