"""Fixed, physical normalisation of the 13 SAFE equaliser parameters to [0, 1].

The bounds are physical, never learned from data: frequencies are scaled on a log axis between
20 Hz and 20 kHz, Q on a log axis between 0.1 and 10, gains linearly between -12 and +12 dB.
Bounds fitted to a data set would stop a model at the data's own extremes (an earlier model
could not reach above 8 kHz) and z-scores map to invalid settings; with fixed bounds, any value
in [0, 1] is a valid equaliser setting and 0 and 1 are exactly the physical limits.
"""

import math

import numpy as np
import torch

# The SAFE column order: low shelf (gain, freq), three peaking bands (gain, freq, Q),
# high shelf (gain, freq).
PARAM_NAMES: tuple[str, ...] = (
    "low_shelf_gain",
    "low_shelf_freq",
    "band1_gain",
    "band1_freq",
    "band1_q",
    "band2_gain",
    "band2_freq",
    "band2_q",
    "band3_gain",
    "band3_freq",
    "band3_q",
    "high_shelf_gain",
    "high_shelf_freq",
)
N_PARAMS = len(PARAM_NAMES)

GAIN_DB = (-12.0, 12.0)
FREQ_HZ = (20.0, 20000.0)
Q = (0.1, 10.0)

UNITS = {"gain": "dB", "freq": "Hz", "q": ""}


def kind(name: str) -> str:
    """``"gain"``, ``"freq"`` or ``"q"``: the physical quantity of a parameter name."""
    return name.rsplit("_", 1)[1]


KINDS: tuple[str, ...] = tuple(kind(n) for n in PARAM_NAMES)
BOUNDS: dict[str, tuple[float, float]] = {"gain": GAIN_DB, "freq": FREQ_HZ, "q": Q}
LOG_SCALED = {"gain": False, "freq": True, "q": True}


def _axis(value: float, quantity: str) -> float:
    # The axis on which the [0, 1] mapping is linear: log for frequency and Q, dB for gain.
    return math.log(value) if LOG_SCALED[quantity] else value


_LO = torch.tensor([_axis(BOUNDS[k][0], k) for k in KINDS], dtype=torch.float64)
_HI = torch.tensor([_axis(BOUNDS[k][1], k) for k in KINDS], dtype=torch.float64)
_LOG = torch.tensor([LOG_SCALED[k] for k in KINDS])


def normalise(params: torch.Tensor | np.ndarray) -> torch.Tensor:
    """Physical parameters to [0, 1] (values outside the bounds map outside [0, 1]).

    Args:
        params: ``(..., 13)`` in SAFE order; gains in dB, frequencies in Hz, Q unitless.
            Frequencies and Q must be > 0.

    Returns:
        ``(..., 13)`` tensor in the dtype of ``params`` (float64 for numpy input).
    """
    x = torch.as_tensor(params)
    if not x.is_floating_point():
        x = x.double()
    lo, hi, log = _LO.to(x), _HI.to(x), _LOG.to(x.device)
    axis = torch.where(log, torch.log(x.clamp_min(1e-12)), x)
    return (axis - lo) / (hi - lo)


def denormalise(unit: torch.Tensor | np.ndarray) -> torch.Tensor:
    """[0, 1] back to physical parameters; the exact inverse of :func:`normalise`.

    Args:
        unit: ``(..., 13)``; 0 and 1 give exactly the physical bounds.

    Returns:
        ``(..., 13)``: gains in dB, frequencies in Hz, Q.
    """
    u = torch.as_tensor(unit)
    if not u.is_floating_point():
        u = u.double()
    lo, hi, log = _LO.to(u), _HI.to(u), _LOG.to(u.device)
    out = torch.where(log, torch.exp(lo + u * (hi - lo)), lo + u * (hi - lo))
    # exp(log(bound)) can land an ulp away from the bound: 0 and 1 give the bounds exactly,
    # and nothing lands outside them.
    low, high = lower_bounds().to(out), upper_bounds().to(out)
    out = torch.where(u <= 0, low, torch.where(u >= 1, high, out))
    return torch.minimum(torch.maximum(out, low), high)


def lower_bounds() -> torch.Tensor:
    """``(13,)`` float64 physical lower bound of each parameter."""
    return torch.tensor([BOUNDS[k][0] for k in KINDS], dtype=torch.float64)


def upper_bounds() -> torch.Tensor:
    """``(13,)`` float64 physical upper bound of each parameter."""
    return torch.tensor([BOUNDS[k][1] for k in KINDS], dtype=torch.float64)


def outside_bounds(params: torch.Tensor | np.ndarray, rtol: float = 1e-6) -> torch.Tensor:
    """Boolean ``(..., 13)``: which physical values lie outside the bounds.

    ``rtol`` (relative to the bound) forgives float32 rounding of values stored at a bound,
    such as SAFE's Q of 0.10000000149.
    """
    x = torch.as_tensor(params, dtype=torch.float64)
    lo, hi = lower_bounds(), upper_bounds()
    slack_lo, slack_hi = lo.abs() * rtol, hi.abs() * rtol
    return (x < lo - slack_lo) | (x > hi + slack_hi)


def scale_gains(unit: torch.Tensor, strength: float | torch.Tensor) -> torch.Tensor:
    """Scale every gain of normalised settings by ``strength`` (0 = flat, 1 = unchanged).

    Frequencies and Q are kept. Works in [0, 1] units: 0 dB is 0.5, so the result stays inside
    the bounds for any strength in [0, 1].

    Args:
        unit: ``(..., 13)`` normalised settings.
        strength: scalar or tensor broadcastable to ``(..., 1)``.
    """
    gain = torch.tensor([k == "gain" for k in KINDS], device=unit.device)
    s = torch.as_tensor(strength, dtype=unit.dtype, device=unit.device)
    return torch.where(gain, 0.5 + (unit - 0.5) * s, unit)


def format_setting(params: torch.Tensor | np.ndarray) -> list[str]:
    """One ``name  value unit`` line per parameter of one physical setting ``(13,)``."""
    values = torch.as_tensor(params, dtype=torch.float64).reshape(-1).tolist()
    lines = []
    for name, value in zip(PARAM_NAMES, values, strict=True):
        unit = UNITS[kind(name)]
        text = f"{value:+7.2f}" if kind(name) == "gain" else f"{value:8.2f}"
        lines.append(f"{name:<16}{text} {unit}".rstrip())
    return lines
