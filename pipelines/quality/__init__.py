"""Ground truth for the quality job: label files, validated and stored encrypted."""
