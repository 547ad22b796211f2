"""srcgrad in GradBench: a GradBench tool for srcgrad (tool.py, evals/), a runner for GradBench's
evals and tools without Docker (run.py), and GradBench's jax/pytorch tools timed honestly
(peers.py). See README.md in this directory."""
