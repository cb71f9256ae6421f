"""Pure logic for OmniTUI: no I/O, no Textual."""
