"""The leakage evaluation protocol: fresh action and privacy models trained on anonymized video."""
