__version__ = "0.0.1"

import warnings as _warnings
# fastai (2.8) calls `torch.jit.script` at import time, and torch >= 2.10 deprecates it with a FutureWarning that
# every `import growlearn...` would print. Only that message, from that place, is silenced; fastai's own use is fine.
_warnings.filterwarnings('ignore', message=r'`torch\.jit\.script` is deprecated', category=FutureWarning, module=r'torch\.jit')
