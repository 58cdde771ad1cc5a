"""Digit sums and multi-digit addition over handwritten digits (scikit-learn digits or MNIST).

Only the labels of the conclusions (the sums) are used for training; the digit labels are
kept to report how well the perception net learned to read digits.
"""

from tasks.digit_sum.data import DigitSumDataModule, DigitSumDataset
from tasks.digit_sum.model import DigitNet

__all__ = ["DigitSumDataModule", "DigitSumDataset", "DigitNet"]
