"""Question routing: who knows about X, with care for the people asked."""
