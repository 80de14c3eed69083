"""Small widgets, one concern each; each shows one model attribute and updates it."""
