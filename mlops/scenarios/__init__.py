"""Local scenarios the demo and tests play on real step scripts: concept drift with late labels."""
