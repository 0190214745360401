"""Settings of the board's end-to-end servers: the project's, with a long gathering window, so that a
burst of board events surely travels gathered (`test_board_burst.py`)."""

from backend.settings import *  # noqa: F403

LIVE_BOARD_WINDOW = 0.3
