"""Post-deploy smoke checks and latency budgets over HTTP."""
