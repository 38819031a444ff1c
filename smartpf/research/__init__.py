"""The settings studies: sweep (settings x baskets x windows), recommend, whatif and study, on the fast engine."""
