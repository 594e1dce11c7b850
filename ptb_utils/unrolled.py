"""Former home of :func:`~ptb_utils.diagrams.draw_unrolled`, which now lives in
:mod:`ptb_utils.diagrams` with the book's other diagrams. Kept so that notebooks written
before the move run unchanged; import from :mod:`ptb_utils.diagrams` in new code.
"""

from ptb_utils.diagrams import draw_unrolled

__all__ = ["draw_unrolled"]
