"""Benchmarks of datadesk, each one command printing ratios against baselines run side by side."""
