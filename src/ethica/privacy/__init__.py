"""ethica.privacy."""
