"""Provinces, cities, region codes (GB/T 2260) and blocs."""
