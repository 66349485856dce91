"""ethica.report."""
