"""vtlgen: generate and validate arm64 hypervisor world-switch stubs from one spec."""

__version__ = "0.1.0"
