"""The launch gate: which stages are required, what they lack, the prerequisite items."""
