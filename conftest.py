"""Root conftest: enables pytester for the plugin's own tests (only a root conftest may)."""

pytest_plugins = ["pytester"]
