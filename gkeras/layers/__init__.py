"""Layers (`keras.layers`)."""

from gkeras.layers.activation_layers import ELU, LeakyReLU, ReLU, Softmax  # noqa: F401
from gkeras.layers.attention import Attention, MultiHeadAttention  # noqa: F401
from gkeras.layers.convolutional import Conv2D, Convolution2D  # noqa: F401
from gkeras.layers.convolutional_variants import (  # noqa: F401
    Conv2DTranspose,
    Convolution2DTranspose,
    DepthwiseConv2D,
    SeparableConv2D,
    SeparableConvolution2D,
)
from gkeras.layers.core import Activation, Dense, Input, InputLayer  # noqa: F401
from gkeras.layers.einsum_dense import EinsumDense  # noqa: F401
from gkeras.layers.embedding import Embedding  # noqa: F401
from gkeras.layers.layer import InputSpec, Layer  # noqa: F401
from gkeras.layers.merging import (  # noqa: F401
    Add,
    Average,
    Concatenate,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    maximum,
    minimum,
    multiply,
    subtract,
)
from gkeras.layers.node import KerasTensor  # noqa: F401
from gkeras.layers.normalization import BatchNormalization, LayerNormalization  # noqa: F401
from gkeras.layers.pooling import (  # noqa: F401
    AveragePooling2D,
    AvgPool2D,
    GlobalAveragePooling2D,
    GlobalAvgPool2D,
    GlobalMaxPool2D,
    GlobalMaxPooling2D,
    MaxPool2D,
    MaxPooling2D,
)
from gkeras.layers.recurrent import (  # noqa: F401
    GRU,
    LSTM,
    GRUCell,
    LSTMCell,
    SimpleRNN,
    SimpleRNNCell,
)
from gkeras.layers.regularization import Dropout  # noqa: F401
from gkeras.layers.reshaping import Flatten, Reshape  # noqa: F401
from gkeras.layers.sequence import (  # noqa: F401
    AveragePooling1D,
    AvgPool1D,
    Conv1D,
    Convolution1D,
    GlobalAveragePooling1D,
    GlobalAvgPool1D,
    GlobalMaxPool1D,
    GlobalMaxPooling1D,
    MaxPool1D,
    MaxPooling1D,
    RepeatVector,
)
from gkeras.layers.spatial import (  # noqa: F401
    Cropping1D,
    Cropping2D,
    UpSampling1D,
    UpSampling2D,
    ZeroPadding1D,
    ZeroPadding2D,
)
from gkeras.layers.utility import Identity, Lambda, Permute, Rescaling  # noqa: F401
from gkeras.layers.wrappers import RNN, Bidirectional, TimeDistributed, Wrapper  # noqa: F401
