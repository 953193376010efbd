"""Regenerate ``tests/data/reference-metrics.json`` from independent reference implementations.

The values are what auralab's own metrics are tested against, so they must NOT come from
auralab: this script runs in a throw-away virtual environment that has the reference packages
and not auralab (nor is any of them an auralab dependency beyond ``pesq`` / ``pystoi``)::

    python3 -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install pysepm-evo==0.1.1 numpy scipy pesq pystoi soundfile
    /tmp/refvenv/bin/python tests/data/make_reference_metrics.py            # from the repo root
    # options: --shared-data DIR (default $AURALAB_SHARED_DATA or ../shared/data), --out FILE

Sources, per metric:

- ``pesq_wb`` / ``pesq_nb``: the ``pesq`` package (ITU-T P.862.2 / P.862 + P.862.1 C code),
  ``pesq(sr, clean, degraded, mode)``.
- ``stoi`` / ``estoi``: ``pystoi.stoi(clean, degraded, sr, extended=False/True)``.
- ``si_sdr``: zero-mean scale-invariant SDR in dB (Le Roux et al. 2019), written out below in
  float64 without epsilon terms (a four-line formula; no package in this venv provides it).
- ``ssnr``, ``llr``, ``wss``: ``pysepm-evo`` 0.1.1 (a Python port of Loizou's MATLAB
  ``comp_snr.m``, ``comp_llr.m``, ``comp_wss.m``): ``SNRseg``, ``llr`` (frames limited to 2, as
  ``comp_llr.m``) and ``wss``, with their defaults (30 ms frames, 75 % overlap).
- ``llr_composite``: ``pysepm_evo.llr(..., used_for_composite=True)``: the same without the limit
  of 2 per frame, as inside ``composite.m``; this is the LLR the regressions use.
- ``csig`` / ``cbak`` / ``covl``: pysepm's ``composite`` cannot run (it refers to an undefined
  ``mos_lqo``), so they are recombined here with the Hu & Loizou (2008) regressions from
  pysepm's ``llr_composite``, ``wss`` and ``ssnr`` and, following the speech-enhancement
  community convention (CMGAN / MetricGAN+ / DPT-FSNet evaluation scripts), PESQ wide-band at
  16 kHz and narrow-band at 8 kHz; each clipped to [1, 5].

pysepm-evo 0.1.1 needs three patches, all applied in this process only (nothing installed is
edited):

1. ``scipy.signal.kaiser`` is aliased to ``scipy.signal.windows.kaiser`` (removed from
   ``scipy.signal`` in SciPy 1.13), or pysepm does not import.
2. An empty ``srmrpy`` module is registered (SRMRpy is not on PyPI; only pysepm's unused
   ``srmr`` needs it), or pysepm does not import.
3. pysepm keeps ``int(round(0.95 * F))`` frames for LLR and WSS with Python's round-half-to-even,
   where Loizou's MATLAB ``round`` rounds half away from zero. They differ when ``0.95 F`` is
   exactly ``k + 0.5`` in floating point, which happens here (p232_009: F = 550, 522.5 -> MATLAB
   keeps 523 frames, pysepm 522). The reference follows MATLAB: a half-away-from-zero ``round``
   is put into ``pysepm_evo.qualityMeasures``' namespace. The unpatched values of every pair
   where it matters are kept under ``pysepm_unpatched`` in the JSON.

``derived`` entries are computed on signals derived in this script (``scipy.signal.resample_poly``
of both files), so a test can rebuild the exact same input; they cover the 8 kHz code paths.
"""

import argparse
import json
import math
import os
import platform
import sys
import types
from importlib.metadata import version
from pathlib import Path

import numpy as np
import scipy.signal
import scipy.signal.windows
import soundfile as sf

scipy.signal.kaiser = scipy.signal.windows.kaiser  # shim: see module docstring
sys.modules.setdefault("srmrpy", types.ModuleType("srmrpy"))  # shim: see module docstring

import pesq  # noqa: E402
import pysepm_evo  # noqa: E402
import pysepm_evo.qualityMeasures  # noqa: E402
import pystoi  # noqa: E402


def matlab_round(x: float) -> int:
    """MATLAB's ``round`` for the non-negative frame counts pysepm rounds: half away from zero."""
    return math.floor(x + 0.5)


REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "tests" / "data" / "reference-metrics.json"

# Absolute tolerance a faithful implementation of each metric should meet, with the reason.
TOLERANCES = {
    "pesq_wb": (
        1e-3,
        "the ITU C code is deterministic: a wrapper of it agrees exactly; margin "
        "for input handling (float32/int16 conversion)",
    ),
    "pesq_nb": (1e-3, "as pesq_wb"),
    "stoi": (1e-4, "pystoi is deterministic: a wrapper agrees exactly; margin for float32"),
    "estoi": (1e-4, "as stoi"),
    "si_sdr": (1e-3, "dB; closed form: eps terms (1e-12) or float32 accumulation stay far below"),
    "ssnr": (
        1e-3,
        "dB; a float64 frame-exact implementation agrees to 1e-13 dB; float32 frames "
        "to 3e-8 dB; 1e-3 leaves margin for other eps guards",
    ),
    "llr": (
        1e-3,
        "a float64 implementation agrees to 1e-10. Catches the two real mistakes: "
        "Python's round-half-even frame count (2.3e-3 on p232_009) and float32 order-16 "
        "Levinson (1.8e-2, NaN frames)",
    ),
    "llr_composite": (1e-3, "as llr"),
    "wss": (
        0.01,
        "a float64 implementation agrees to 1e-14, float32 frames to 2e-6; catches "
        "the round-half-even frame count (0.134 on p232_009)",
    ),
    "csig": (
        5e-3,
        "the pesq/llr/wss tolerances above times the regression weights "
        "(0.603 * 1e-3 + 1.029 * 1e-3 + 0.009 * 0.01 = 1.7e-3), with margin",
    ),
    "cbak": (5e-3, "as csig"),
    "covl": (5e-3, "as csig"),
}


def si_sdr(degraded: np.ndarray, clean: np.ndarray) -> float:
    """Zero-mean scale-invariant SDR in dB, float64, no epsilon terms."""
    s = clean - clean.mean()
    d = degraded - degraded.mean()
    projection = (d @ s) / (s @ s) * s
    residual = d - projection
    return float(10 * np.log10((projection @ projection) / (residual @ residual)))


def regressions(llr_c: float, wss_d: float, seg: float, pesq_score: float) -> dict[str, float]:
    """Hu & Loizou (2008) composite measures, each clipped to [1, 5]."""
    raw = {
        "csig": 3.093 - 1.029 * llr_c + 0.603 * pesq_score - 0.009 * wss_d,
        "cbak": 1.634 + 0.478 * pesq_score - 0.007 * wss_d + 0.063 * seg,
        "covl": 1.594 + 0.805 * pesq_score - 0.512 * llr_c - 0.007 * wss_d,
    }
    return {k: float(min(5.0, max(1.0, v))) for k, v in raw.items()}


def metrics(degraded: np.ndarray, clean: np.ndarray, sr: int) -> dict[str, float]:
    """All reference values for one (degraded, clean) pair at ``sr`` Hz."""
    out = {}
    if sr == 16000:
        out["pesq_wb"] = float(pesq.pesq(sr, clean, degraded, "wb"))
    out["pesq_nb"] = float(pesq.pesq(sr, clean, degraded, "nb"))
    out["stoi"] = float(pystoi.stoi(clean, degraded, sr, extended=False))
    out["estoi"] = float(pystoi.stoi(clean, degraded, sr, extended=True))
    out["si_sdr"] = si_sdr(degraded, clean)
    out["ssnr"] = float(pysepm_evo.SNRseg(clean, degraded, sr))
    out["llr"] = float(pysepm_evo.llr(clean, degraded, sr))
    out["llr_composite"] = float(pysepm_evo.llr(clean, degraded, sr, used_for_composite=True))
    out["wss"] = float(pysepm_evo.wss(clean, degraded, sr))
    community_pesq = out["pesq_wb"] if sr == 16000 else out["pesq_nb"]
    out.update(regressions(out["llr_composite"], out["wss"], out["ssnr"], community_pesq))
    return out


def read(path: Path) -> tuple[np.ndarray, int]:
    x, sr = sf.read(path, dtype="float64")
    return x, sr


def pysepm_unpatched(degraded: np.ndarray, clean: np.ndarray, sr: int) -> dict[str, float]:
    """pysepm's own LLR/WSS (Python rounding of the kept frame count), if they differ."""
    pysepm_evo.qualityMeasures.round = round  # builtin: pysepm as shipped
    try:
        raw = {
            "llr": float(pysepm_evo.llr(clean, degraded, sr)),
            "llr_composite": float(pysepm_evo.llr(clean, degraded, sr, used_for_composite=True)),
            "wss": float(pysepm_evo.wss(clean, degraded, sr)),
        }
    finally:
        pysepm_evo.qualityMeasures.round = matlab_round
    return raw


def pair_list(shared: Path) -> list[tuple[str, Path, Path]]:
    """(key, degraded, clean) for every pair in the reference set."""
    vbd = shared / "pairs" / "vbd-test10"
    pairs = [
        (f"vbd-test10/{p.name}", p, vbd / "clean" / p.name)
        for p in sorted((vbd / "noisy").glob("*.wav"))
    ]
    ref = shared / "pairs" / "pesq-ref"
    pairs.append(("pesq-ref/speech_bab_0dB.wav", ref / "speech_bab_0dB.wav", ref / "speech.wav"))
    return pairs


def source_info() -> dict:
    packages = ["pysepm-evo", "pesq", "pystoi", "numpy", "scipy", "soundfile", "numba"]
    return {
        "script": "tests/data/make_reference_metrics.py (run in a venv without auralab)",
        "python": platform.python_version(),
        "packages": {name: version(name) for name in packages},
        "pesq_wb, pesq_nb": "pesq package, pesq(sr, clean, degraded, 'wb' / 'nb')",
        "stoi, estoi": "pystoi.stoi(clean, degraded, sr, extended=False / True)",
        "si_sdr": "zero-mean scale-invariant SDR in dB, float64, no eps, written in the script",
        "ssnr, llr, wss": "pysepm-evo 0.1.1 SNRseg / llr / wss (Loizou comp_snr.m, comp_llr.m, "
        "comp_wss.m ports); llr frames limited to 2 as in comp_llr.m",
        "llr_composite": "pysepm_evo.llr(used_for_composite=True): no limit of 2 per frame, as "
        "inside composite.m; the LLR used by csig/covl",
        "csig, cbak, covl": "NOT pysepm's composite (it raises NameError: mos_lqo undefined). "
        "Recombined in the script with the Hu & Loizou 2008 regressions from pysepm "
        "llr_composite, wss, ssnr and PESQ wide-band at 16 kHz (narrow-band at 8 kHz), the "
        "CMGAN / MetricGAN+ / DPT-FSNet convention; clipped to [1, 5]. Loizou's composite.m "
        "used raw narrow-band P.862 instead, so these differ from MATLAB composite.m output.",
        "patches": "pysepm-evo 0.1.1 is patched in-process only (nothing installed is edited): "
        "(1) scipy.signal.kaiser = scipy.signal.windows.kaiser (removed in SciPy 1.13), "
        "(2) an empty 'srmrpy' module (SRMRpy is not on PyPI; only pysepm's unused srmr needs "
        "it), (3) MATLAB rounding (half away from zero) of the 95 % frame count in llr/wss, "
        "see known_differences[0] and pysepm_unpatched",
        "known_differences": [
            "pysepm keeps int(round(0.95 F)) frames with Python's round-half-to-even, MATLAB "
            "rounds half away from zero; they differ when 0.95 F is exactly k + 0.5 in floating "
            "point. vbd-test10/p232_009 hits it (F = 550 frames, 522.5: MATLAB keeps 523): "
            "pysepm as shipped gives llr 2.3e-3 and wss 0.134 lower. The reference values use "
            "MATLAB rounding (patch 3); the shipped values are under pysepm_unpatched.",
            "pysepm SNRseg does not add eps to the signals as comp_snr.m does (changes "
            "nothing measurable: 1e-16 offset).",
            "pysepm llr sets NaN frame ratios to inf and non-positive ones to 1000 where MATLAB "
            "would give NaN/complex; neither occurs on these pairs.",
            "comp_wss.m / pysepm / CMGAN take, on a rising slope, the band just below the "
            "nearest peak as the 'local peak' (an off-by-one in the original); kept, since "
            "published numbers come from it.",
            "CMGAN's compute_metrics.py divides by 32768 inside wss (int16 habit), which only "
            "matters where band energies hit the -100 dB floor.",
        ],
        "derived": "derived[...] entries: both files passed through "
        "scipy.signal.resample_poly(x, 1, 2) (16 -> 8 kHz) before measuring",
    }


def measure_all(shared: Path) -> dict[str, dict]:
    """The ``pairs``, ``derived`` and ``pysepm_unpatched`` sections of the JSON."""
    pysepm_evo.qualityMeasures.round = matlab_round  # patch 3: see module docstring
    sections = {"pairs": {}, "derived": {}, "pysepm_unpatched": {}}
    for key, degraded_path, clean_path in pair_list(shared):
        degraded, sr = read(degraded_path)
        clean, sr_clean = read(clean_path)
        assert sr == sr_clean == 16000 and degraded.shape == clean.shape, key
        values = sections["pairs"][key] = metrics(degraded, clean, sr)
        raw = pysepm_unpatched(degraded, clean, sr)
        if any(raw[k] != values[k] for k in raw):
            sections["pysepm_unpatched"][key] = raw
        if key == "vbd-test10/p232_001.wav":
            down = [scipy.signal.resample_poly(x, 1, 2) for x in (degraded, clean)]
            sections["derived"][key + "@8k"] = metrics(down[0], down[1], 8000)
        print(key, {k: round(v, 4) for k, v in values.items()})
    return sections


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_shared = os.environ.get("AURALAB_SHARED_DATA", REPO.parent / "shared" / "data")
    parser.add_argument("--shared-data", type=Path, default=Path(default_shared))
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    sections = measure_all(args.shared_data)
    document = {
        "source": source_info(),
        "tolerances": {k: tol for k, (tol, _) in TOLERANCES.items()},
        "tolerance_reasons": {k: why for k, (_, why) in TOLERANCES.items()},
        **sections,
    }
    args.out.write_text(json.dumps(document, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
