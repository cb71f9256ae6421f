"""OmniTUI: every customer, every channel, one keyboard-driven console."""

__version__ = "0.1.0"
