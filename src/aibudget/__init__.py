"""aibudget: what an AI model will really cost."""

__version__ = "0.1.0"
