"""The config file: YAML -> a validated, immutable `Config`, one module per YAML section."""
