"""The perception net of the digit tasks: one image in, a distribution over 10 digits out.

For 28x28 MNIST images it is DeepProbLog's ``MNIST_Net`` layer for layer, so that speed
and accuracy compare like with like; for scikit-learn's 8x8 digits it is a small conv net
of the same spirit.

Example:
    >>> import torch
    >>> net = DigitNet(image_size=8)
    >>> p = net(torch.zeros(5, 1, 8, 8))
    >>> p.shape
    torch.Size([5, 10])
    >>> bool(torch.allclose(p.sum(dim=1), torch.ones(5)))
    True
"""

import torch
from torch import nn

from greybox.errors import ConfigError, ShapeError

__all__ = ["DigitNet"]

_SIZES = (8, 28)


class DigitNet(nn.Module):
    """Classify single digit images.

    Args:
        image_size: 28 (MNIST; DeepProbLog's MNIST_Net) or 8 (scikit-learn digits).

    Raises:
        ConfigError: ``image_size`` is neither 8 nor 28.
    """

    def __init__(self, image_size: int = 28) -> None:
        super().__init__()
        if image_size not in _SIZES:
            raise ConfigError(f"DigitNet has no architecture for {image_size}x{image_size} images",
                              hint="set image_size to 28 (MNIST) or 8 (scikit-learn digits)")
        self.image_size = image_size
        if image_size == 28:
            self.encoder = nn.Sequential(
                nn.Conv2d(1, 6, 5),  # (X, 1, 28, 28) -> (X, 6, 24, 24)
                nn.MaxPool2d(2, 2),  # -> (X, 6, 12, 12)
                nn.ReLU(True),
                nn.Conv2d(6, 16, 5),  # -> (X, 16, 8, 8)
                nn.MaxPool2d(2, 2),  # -> (X, 16, 4, 4)
                nn.ReLU(True),
            )
            self.features = 16 * 4 * 4
            self.classifier = nn.Sequential(
                nn.Linear(self.features, 120),  # (X, 256) -> (X, 120)
                nn.ReLU(),
                nn.Linear(120, 84),  # -> (X, 84)
                nn.ReLU(),
                nn.Linear(84, 10),  # -> (X, 10)
                nn.Softmax(1),
            )
        else:
            self.encoder = nn.Sequential(
                nn.Conv2d(1, 16, 3, padding=1),  # (X, 1, 8, 8) -> (X, 16, 8, 8)
                nn.MaxPool2d(2, 2),  # -> (X, 16, 4, 4)
                nn.ReLU(True),
                nn.Conv2d(16, 32, 3, padding=1),  # -> (X, 32, 4, 4)
                nn.MaxPool2d(2, 2),  # -> (X, 32, 2, 2)
                nn.ReLU(True),
            )
            self.features = 32 * 2 * 2
            self.classifier = nn.Sequential(
                nn.Linear(self.features, 64),  # (X, 128) -> (X, 64)
                nn.ReLU(),
                nn.Linear(64, 10),  # -> (X, 10)
                nn.Softmax(1),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Digit probabilities of a stack of images.

        Args:
            x: float (X, 1, H, W) with H = W = ``image_size``.

        Returns:
            float (X, 10): a probability distribution over the digits 0..9 per image.

        Raises:
            ShapeError: ``x`` is not (X, 1, image_size, image_size).
        """
        s = self.image_size
        if x.dim() != 4 or tuple(x.shape[1:]) != (1, s, s):
            raise ShapeError(f"DigitNet({s}) expects images of shape (X, 1, {s}, {s}), "
                             f"got {tuple(x.shape)}",
                             hint="flatten the batch and image dimensions first, "
                                  "e.g. images.flatten(0, 1) for (B, M, 1, H, W)")
        h = self.encoder(x)  # (X, C, h, w)
        return self.classifier(h.reshape(h.shape[0], self.features))  # (X, 10)
