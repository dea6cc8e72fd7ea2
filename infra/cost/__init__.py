"""Monthly cost estimates of a plan, from the price table and the expected usage in the config."""
