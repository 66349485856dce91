"""ethica.attacks."""
