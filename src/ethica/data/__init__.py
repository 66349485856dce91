"""ethica.data."""
