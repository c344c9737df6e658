"""The engine's core: jobs, their states and rules, the store port. No web or database imports."""
