"""Metrics as small, tested, pure functions ``(preds, target, sr)``."""

from auralab.metrics.composite import composite, llr, ssnr, wss
from auralab.metrics.speech import estoi, pesq, si_sdr, snr, stoi

# Display names, in the order reports show them.
SPEECH_METRICS = {
    "pesq_wb": "PESQ-wb",
    "pesq_nb": "PESQ-nb",
    "stoi": "STOI",
    "estoi": "ESTOI",
    "si_sdr": "SI-SDR (dB)",
    "snr": "SNR (dB)",
    "ssnr": "SSNR (dB)",
    "llr": "LLR",
    "wss": "WSS",
    "csig": "CSIG",
    "cbak": "CBAK",
    "covl": "COVL",
}
LOWER_IS_BETTER = {"llr", "wss"}


def speech_quality(preds, target, sr: int) -> dict[str, float]:
    """Every speech metric of ``SPEECH_METRICS`` for one pair at 8 or 16 kHz.

    Args:
        preds, target: ``(T,)`` waveforms at ``sr`` Hz (8000 or 16000).

    Returns:
        ``{metric: value}``; ``pesq_wb`` is NaN at 8 kHz (wide-band PESQ needs 16 kHz), and
        the composite measures then use narrow-band PESQ.
    """
    scores = {"pesq_wb": pesq(preds, target, sr, "wb") if sr == 16000 else float("nan")}
    scores["pesq_nb"] = pesq(preds, target, sr, "nb")
    scores["stoi"] = stoi(preds, target, sr)
    scores["estoi"] = estoi(preds, target, sr)
    scores["si_sdr"] = si_sdr(preds, target, sr)
    scores["snr"] = snr(preds, target, sr)
    scores["ssnr"] = ssnr(preds, target, sr)
    scores["llr"] = llr(preds, target, sr)
    scores["wss"] = wss(preds, target, sr)
    pesq_for_composite = scores["pesq_wb"] if sr == 16000 else scores["pesq_nb"]
    scores.update(composite(preds, target, sr, pesq_score=pesq_for_composite))
    return scores


__all__ = [
    "LOWER_IS_BETTER",
    "SPEECH_METRICS",
    "composite",
    "estoi",
    "llr",
    "pesq",
    "si_sdr",
    "snr",
    "speech_quality",
    "ssnr",
    "stoi",
    "wss",
]
