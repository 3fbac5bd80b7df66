"""Proactive: a serverless platform that makes AI agents proactive."""

__version__ = "0.1.0"
