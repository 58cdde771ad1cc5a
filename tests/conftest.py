"""Test-session settings: tensors in tests are tiny, so one torch thread is fastest and steadiest."""

import os

import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
torch.set_num_threads(1)
