"""integrity-audit core: settings, register dictionary, entities, run pipeline, store, scheduler, CLI.

Arrows point one way: connectors and rules import only audit.registers; reports import
audit.store; audit.pipeline ties connectors, entities, rules, store and reports together;
audit.cli may import everything.
"""
__version__ = "0.1.0"
