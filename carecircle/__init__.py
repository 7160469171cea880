"""carecircle: plan the 15-minute elder-care circle on the OpenStreetMap walking network."""

__version__ = "0.1.0"
