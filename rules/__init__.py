"""Rules: the rule model, strict loading and validation, the compiler and the two engines.

Imports only audit.registers. The rule model never imports an engine; engines never import the
store. Public facade: load, validate, compile, evaluate (see rules/api.py once it lands).
"""
