"""Code whose trace fails the way practitioners' code does."""
