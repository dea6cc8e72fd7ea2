"""`mlops report`: one self-contained HTML page of a model's evaluation, bias, attribution, drift and quality."""
