"""A package whose modules import each other relatively: targets loaded by module and by path."""
