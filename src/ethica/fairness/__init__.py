"""ethica.fairness."""
