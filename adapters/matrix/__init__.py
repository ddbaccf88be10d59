"""The Matrix adapter (matrix-nio): translate, render, and the syncing adapter."""
