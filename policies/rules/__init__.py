"""Rule families; importing a module registers its rules."""
