"""The generic engine of every check: rows as data, plan / probe / judge, verdicts.

This is the public API of ``nn_utils`` for the families of checks
(``nn_utils.checks``) and for the grader (``autograder``); nothing outside this
package imports its modules' private names.  Nothing here computes an
exercise's answer.

* the row type and its plan: :class:`LayerSpec`, :class:`Arg`, :class:`Step`
  (``LINEAR``, ``SMOOTH``, :func:`kink`), :class:`Variant`, :class:`Fingerprint`,
  :func:`make_plan`, ``SAMPLERS``, :func:`d_out_sample` (``spec``);
* the registry and the runner: :class:`Check`, :func:`register`, :func:`get_check`,
  :func:`checks`, :func:`run_check`, :func:`judge_with`, and what grading needs:
  :func:`install_grading`, :func:`grading_seed`, :func:`grading_slot`,
  ``GRADING_SLOTS`` (``runner``);
* the shared probe and judge of a layer row: :func:`probe_layer`,
  :func:`judge_layer`, ``MUTATION_HINT``; helpers for probes: :func:`call`,
  :func:`as_array`, :func:`describe_error`, :func:`mutated`
  (``layer_probe``, ``layer_judge``, ``probe``);
* fingerprints shared by every row: ``GENERIC``, :func:`context`, :func:`match`
  (``fingerprints``);
* verdicts and messages: :class:`Verdict`, :class:`CheckFailed`, :func:`passed`,
  :func:`failed`, :func:`unreadable`, :func:`fmt`, :func:`public_name` (``report``);
* numerical gradients: :func:`rel_error`, :func:`numerical_gradient`,
  :func:`gradient_check`, the directional-derivative helpers (``numeric``);
* the published cases: :func:`published`, :func:`published_seeds`,
  ``CASES_DIR``, :class:`UnpublishedSeed` (``cases``);
* the wire codec of what leaves a grading kernel: :mod:`.wire`.
"""
from . import wire
from .cases import CASES_DIR, UnpublishedSeed, published, published_seeds
from .fingerprints import GENERIC, context, match
from .layer_judge import MUTATION_HINT, judge_layer
from .layer_probe import probe_layer
from .numeric import (
                      GradientReport,
                      directional_derivative,
                      directional_from_values,
                      directional_steps,
                      directional_tolerance,
                      gradient_check,
                      numerical_gradient,
                      rel_error,
                      sample_indices,
)
from .probe import as_array, call, describe_error, mutated
from .report import CheckFailed, Verdict, failed, fmt, passed, public_name, unreadable
from .runner import (
                      GRADING_SLOTS,
                      Check,
                      checks,
                      get_check,
                      grading_seed,
                      grading_slot,
                      install_grading,
                      judge_with,
                      register,
                      run_check,
)
from .spec import (
                      LINEAR,
                      SAMPLERS,
                      SMOOTH,
                      Arg,
                      Fingerprint,
                      LayerSpec,
                      Step,
                      Variant,
                      d_out_sample,
                      kink,
                      make_plan,
)

__all__ = [
    "wire", "CASES_DIR", "UnpublishedSeed", "published", "published_seeds",
    "GENERIC", "context", "match", "MUTATION_HINT", "judge_layer", "probe_layer",
    "GradientReport", "directional_derivative", "directional_from_values", "directional_steps",
    "directional_tolerance", "gradient_check", "numerical_gradient", "rel_error",
    "sample_indices", "as_array", "call", "describe_error", "mutated",
    "CheckFailed", "Verdict", "failed", "fmt", "passed", "public_name", "unreadable",
    "GRADING_SLOTS", "Check", "checks", "get_check", "grading_seed", "grading_slot",
    "install_grading", "judge_with", "register", "run_check",
    "LINEAR", "SAMPLERS", "SMOOTH", "Arg", "Fingerprint", "LayerSpec", "Step", "Variant",
    "d_out_sample", "kink", "make_plan",
]
