"""The service layer between the CLI and the core: fix, many images, scan, pull, shards, baseline, samples, config."""
