"""API and stored shapes, one module per capability."""
