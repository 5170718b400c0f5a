"""On disk: atomic files, run directories and locks, the run record, model bundles, the model."""
