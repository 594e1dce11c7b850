"""Helper package of the book *Recurrent Networks, Hands-On*.

One module per concern: :mod:`ptb_utils.data` loads, verifies and batches the Penn Treebank.
"""

__version__ = "0.1.0"
