"""`make bench`: ingestion throughput, drift job time and memory, and plan time against its floor."""
