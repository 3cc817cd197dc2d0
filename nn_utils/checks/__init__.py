"""The rows of the check table, grouped by family; importing this package registers them all.

Each family module declares its rows next to their siblings and registers
them with the engine (``nn_utils.engine``):

* ``layers``      -- layers and losses: affine, ReLU, cross-entropy, tanh, softmax,
  leaky ReLU, batch normalisation, dropout;
* ``conv``        -- convolution: Conv2D, MaxPool2D;
* ``optimizers``  -- Momentum, RMSProp, Adam;
* ``tf_loops``    -- TensorFlow loops: ``evaluate``, ``fit`` (TensorFlow is imported
  only when one of them runs);
* ``framework``, ``framework_training`` -- the numpy mini-framework.

``nn_utils.check_<name>``, ``nn_utils.__all__``, the published cases and the
tests' lists are derived from the registry these modules fill.  The reference
maths of every row lives on the teacher's side, in ``autograder/reference/``,
in modules of the same names.
"""
import importlib

#: the family modules, in the order their checks are listed
FAMILIES = ("layers", "conv", "optimizers", "tf_loops", "framework", "framework_training")

for _family in FAMILIES:
    importlib.import_module(f"{__name__}.{_family}")
