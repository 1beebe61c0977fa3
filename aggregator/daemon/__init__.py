"""The service: the loop that asks the store what is due, its lock and its metrics."""
