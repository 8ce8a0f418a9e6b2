"""Callbacks (`keras.callbacks`)."""

from gkeras.callbacks.backup_and_restore import BackupAndRestore  # noqa: F401
from gkeras.callbacks.callback import Callback, CallbackList  # noqa: F401
from gkeras.callbacks.csv_logger import CSVLogger  # noqa: F401
from gkeras.callbacks.early_stopping import EarlyStopping  # noqa: F401
from gkeras.callbacks.history import History  # noqa: F401
from gkeras.callbacks.lambda_callback import LambdaCallback  # noqa: F401
from gkeras.callbacks.learning_rate_scheduler import LearningRateScheduler  # noqa: F401
from gkeras.callbacks.model_checkpoint import ModelCheckpoint  # noqa: F401
from gkeras.callbacks.progbar_logger import ProgbarLogger  # noqa: F401
from gkeras.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau  # noqa: F401
from gkeras.callbacks.terminate_on_nan import TerminateOnNaN  # noqa: F401
