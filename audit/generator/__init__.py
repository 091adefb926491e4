"""The synthetic force generator: a realistic fictional force's integrity registers in the
force's own file formats, the config.toml that maps them, and truth.json naming every planted
scenario, decoy, dirty row and entity mention (docs/generator-truth.md).

Owns: audit/generator/*. Imports audit.registers (field types), audit.period and nothing else of
the product, so it can be used to test every other part.
"""
from audit.generator.run import Result, generate

__all__ = ["generate", "Result"]
