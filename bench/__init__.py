"""`make bench`: load tests of the real gateway and converter against baselines measured in the same run."""
