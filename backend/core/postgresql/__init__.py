"""Django's PostgreSQL engine, with a cheaper check of a pooled connection (`base.py`)."""
