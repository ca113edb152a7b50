"""Video datasets: loaders returning ``datasets`` objects, and the SynthPrivacy generator."""
