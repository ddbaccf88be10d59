"""Pulse surveys and consultations: parsing what coordinators and sponsors type, results, due jobs."""
