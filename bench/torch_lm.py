"""The book's LSTM language model written in PyTorch, as a speed reference for the bench.

Same shape and training step as the engine (and the TensorFlow tutorial): embedding,
dropout, ``num_layers`` LSTM layers with dropout after each (PyTorch's ``nn.LSTM`` drops
between its layers, an ``nn.Dropout`` after the last), a linear decoder to the vocabulary;
loss = cross-entropy summed over the window's time steps and averaged over the batch; the
gradient clipped to global norm ``max_grad_norm``; plain SGD; the state carried from window
to window without gradient. Every weight starts uniform in ``[-init_scale, init_scale]`` and
the LSTM biases at zero. PyTorch's CPU LSTM is its fused kernel (oneDNN where it applies).

Only the bench imports this; the book never depends on PyTorch.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ptb_utils.config import Config


class TorchLM(nn.Module):
    """``train_step(x, y, state) -> state`` on int windows ``x, y [batch, steps]``."""

    def __init__(self, config: Config, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.config = config
        hidden, rate = config.hidden_size, 1.0 - config.keep_prob
        self.embedding = nn.Embedding(config.vocab_size, hidden)
        self.lstm = nn.LSTM(hidden, hidden, config.num_layers, dropout=rate)  # time-major
        self.drop = nn.Dropout(rate)
        self.decoder = nn.Linear(hidden, config.vocab_size)
        with torch.no_grad():
            for name, p in self.named_parameters():
                if name.startswith("lstm.bias"):
                    p.zero_()
                else:
                    p.uniform_(-config.init_scale, config.init_scale)
        self.optimizer = torch.optim.SGD(self.parameters(), lr=config.learning_rate)
        self.train()

    def zero_state(self) -> tuple[torch.Tensor, torch.Tensor]:
        shape = (self.config.num_layers, self.config.batch_size, self.config.hidden_size)
        return torch.zeros(shape), torch.zeros(shape)

    def forward(self, ids: torch.Tensor, state):
        """``ids [steps, batch] -> (logits [steps, batch, vocab], state)``."""
        y, state = self.lstm(self.drop(self.embedding(ids)), state)
        return self.decoder(self.drop(y)), state

    def train_step(self, x: np.ndarray, y: np.ndarray, state):
        ids, targets = torch.from_numpy(x.T.copy()), torch.from_numpy(y.T.copy()).long()
        logits, state = self(ids, state)
        nll = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        loss = nll * self.config.num_steps  # summed over time, averaged over the batch
        self.optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(self.parameters(), self.config.max_grad_norm)
        self.optimizer.step()
        return tuple(s.detach() for s in state)
