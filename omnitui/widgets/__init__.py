"""OmniTUI's widgets: contact list, thread view, composer, canned replies."""
