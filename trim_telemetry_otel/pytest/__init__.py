"""pytest integration: the plugin lives in :mod:`trim_telemetry_otel.pytest.plugin`."""
