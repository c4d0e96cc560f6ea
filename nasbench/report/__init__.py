"""Reports, queries and diagnostics built on the results store."""
