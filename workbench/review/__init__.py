"""Case review: one patient's comparison of alternatives, meetings and their worklists, signed decisions."""
