"""Helper package of the book *Recurrent Networks, Hands-On*: the plumbing behind the chapters.

One module per concern:

- :mod:`ptb_utils.timeseries`: the real series of chapters 1 to 3, windows and splits;
- :mod:`ptb_utils.dynamics`: the simulated stationary system of chapter 2;
- :mod:`ptb_utils.sequences`: the long-range recall task of chapters 4 and 5;
- :mod:`ptb_utils.plots`: the book's figure style (legible on a phone, 2x images) and the
  drawing parts every diagram shares; :mod:`ptb_utils.diagrams`: figures drawn by code (an
  unrolled network, the LSTM cell, the PTB batching layout);
- :mod:`ptb_utils.widgets`: explorers that are live in Jupyter and still work in the static book;
- :mod:`ptb_utils.data`: the Penn Treebank, verified, with the tutorial's vocabulary and batching;
- :mod:`ptb_utils.metrics`: RMSE, MAE and perplexity;
- :mod:`ptb_utils.params`: each chapter's parameters, checked the moment they are set;
- :mod:`ptb_utils.seeding`: one seed for Python, NumPy, Keras and TensorFlow, deterministic ops;
- :mod:`ptb_utils.glue`: numbers from a run, pasted into the prose;
- :mod:`ptb_utils.machine`: the machine a run happened on;
- :mod:`ptb_utils.config`, :mod:`ptb_utils.model`, :mod:`ptb_utils.steps` (the update, per
  backend), :mod:`ptb_utils.train` (the loop), :mod:`ptb_utils.runs` (the run's files),
  :mod:`ptb_utils.generate`, :mod:`ptb_utils.cli`: the LSTM language-model engine
  (``python -m ptb_utils --help``);
- build tooling, which no chapter imports: :mod:`ptb_utils.notebooks` (running the notebooks,
  ``make execute``, the cost line), :mod:`ptb_utils.results` (gathering what they measured)
  and :mod:`ptb_utils.conventions` (the checks of ``CONTRIBUTING.md``).
"""

__version__ = "0.1.0"
