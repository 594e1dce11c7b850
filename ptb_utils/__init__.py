"""Helper package of the book *Recurrent Networks, Hands-On*: the plumbing behind the chapters.

One module per concern:

- :mod:`ptb_utils.timeseries`: the real series of chapters 1 to 3, windows and splits;
- :mod:`ptb_utils.dynamics`: the simulated stationary system of chapter 2;
- :mod:`ptb_utils.sequences`: the long-range recall task of chapters 4 and 5;
- :mod:`ptb_utils.unrolled`, :mod:`ptb_utils.diagrams`, :mod:`ptb_utils.plots`: figures drawn
  by code (an unrolled network, the LSTM cell, the PTB batching layout);
- :mod:`ptb_utils.widgets`: explorers that are live in Jupyter and still work in the static book;
- :mod:`ptb_utils.data`: the Penn Treebank, verified, with the tutorial's vocabulary and batching;
- :mod:`ptb_utils.metrics`: perplexity;
- :mod:`ptb_utils.config`, :mod:`ptb_utils.model`, :mod:`ptb_utils.steps` (the update, per
  backend), :mod:`ptb_utils.train` (the loop), :mod:`ptb_utils.runs` (the run's files),
  :mod:`ptb_utils.generate`, :mod:`ptb_utils.cli`: the LSTM language-model engine
  (``python -m ptb_utils --help``);
- :mod:`ptb_utils.notebooks`, :mod:`ptb_utils.results`: running the notebooks and gathering
  what they measured.
"""

__version__ = "0.1.0"
