"""sim2real training side: simulators, worlds, training, export, evaluation and baselines."""
