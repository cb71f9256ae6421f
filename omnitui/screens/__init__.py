"""OmniTUI's screens: the inbox and its pickers and help."""
