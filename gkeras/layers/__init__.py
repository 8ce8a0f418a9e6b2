"""Layers (`keras.layers`)."""

from gkeras.layers.core import Activation, Dense, Input, InputLayer  # noqa: F401
from gkeras.layers.layer import InputSpec, Layer  # noqa: F401
from gkeras.layers.node import KerasTensor  # noqa: F401
