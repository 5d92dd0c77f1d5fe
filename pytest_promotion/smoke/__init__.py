"""Post-deploy smoke items and latency budgets, built on the service layer."""
