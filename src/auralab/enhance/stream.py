"""Stateful streaming enhancement: any chunk size in, the same number of samples out.

``StreamingEnhancer`` runs a causal model one STFT hop at a time with explicit state (conv
caches, RNN hidden states), and reproduces the offline ``model(noisy)`` exactly, delayed by
``latency_samples``: ``out[i] == offline[i - latency_samples]``. The analysis frame, the
window, the synthesis overlap-add and its window-power normalisation are done the way
``torch.stft(center=True)`` / ``torch.istft`` do them, so parity holds from the first sample.
"""

import torch

from auralab.enhance.models.base import MaskingEnhancer
from auralab.errors import ConfigError


class StreamingEnhancer:
    """Wrap a causal ``MaskingEnhancer`` for real-time, chunk-by-chunk processing.

    Args:
        model: a model with ``causal = True`` that implements ``init_state`` and
            ``masker_step`` (see ``MaskingEnhancer``).

    Example:
        >>> stream = StreamingEnhancer(load_model("tiny"))
        >>> for chunk in chunks:            # (T_i,) float at model.sr, any T_i
        ...     out = stream.process(chunk)  # (T_i,), delayed by stream.latency_samples
    """

    def __init__(self, model: MaskingEnhancer):
        if not getattr(model, "causal", False):
            raise ConfigError(
                f"{type(model).__name__} is not causal, so it cannot stream: its output depends on "
                "future input. Use a causal model (e.g. tiny) or offline `auralab enhance`"
            )
        device = next(model.parameters()).device
        if device.type != "cpu":
            raise ConfigError(
                f"streaming runs frame by frame on the CPU, but the model is on {device}; "
                "call model.cpu() first (one frame is too little work for a GPU)"
            )
        stft = model.stft
        if not stft.center or (stft.win_length or stft.n_fft) != stft.n_fft:
            raise ConfigError("streaming needs an Stft with center=True and win_length == n_fft")
        self.model = model.eval()
        self.n_fft, self.hop = stft.n_fft, stft.hop
        self.window = stft._window(torch.zeros(0))  # (n_fft,)
        # Output sample s is final once the last frame covering it is in: at most n_fft later.
        self.latency_samples = self.n_fft
        self.reset()

    @property
    def latency_s(self) -> float:
        return self.latency_samples / self.model.sr

    def reset(self) -> None:
        """Forget all past input: the next sample starts a new stream."""
        half = self.n_fft // 2
        self._input = torch.zeros(half)  # the n_fft/2 zeros torch.stft(center=True) pads with
        self._acc = torch.zeros(self.n_fft)  # overlap-add of synthesis frames, from _acc_start
        self._env = torch.zeros(self.n_fft)  # overlap-add of squared windows, same positions
        self._acc_start = -half  # original-signal index of _acc[0]
        self._ready = torch.zeros(0)  # finished output samples not yet returned
        self._emitted = 0  # output samples returned so far
        self._received = 0  # input samples received so far
        self._frames = 0  # frames through the model so far
        self._state = self.model.init_state(1)

    @torch.no_grad()
    def process(self, chunk: torch.Tensor) -> torch.Tensor:
        """Enhance ``chunk`` ``(T,)`` at ``model.sr``; returns ``(T,)`` delayed by the latency."""
        if chunk.dim() != 1:
            raise ConfigError(f"process() takes a mono (T,) chunk, got shape {tuple(chunk.shape)}")
        self._input = torch.cat([self._input, chunk.float()])
        self._received += chunk.numel()
        self._run_frames(None)
        return self._emit(chunk.numel())

    def _run_frames(self, until: int | None) -> None:
        # Every full window in the buffer, or (flushing) up to frame number `until`, through
        # the model in one masker_step call: per-call overhead dominates a model this small.
        n = (self._input.numel() - self.n_fft) // self.hop + 1
        if until is not None:
            n = min(n, until - self._frames)
        if n <= 0:
            return
        frames = self._input.unfold(0, self.n_fft, self.hop)[:n]  # (N, n_fft)
        spec = torch.fft.rfft(frames * self.window, dim=-1).T[None]  # (1, F, N) complex
        raw, self._state = self.model.masker_step(spec, self._state)  # (1, 2, F, N)
        masked = self.model.apply_mask(spec, raw)[0].T  # (N, F) complex
        self._overlap_add(torch.fft.irfft(masked, n=self.n_fft, dim=-1) * self.window)
        self._input = self._input[n * self.hop :]

    def _overlap_add(self, frames: torch.Tensor) -> None:
        # frames (N, n_fft) in time order, added onto the pending partial sums.
        n, hop = frames.shape[0], self.hop
        acc = torch.zeros(self.n_fft + (n - 1) * hop)
        env = torch.zeros_like(acc)
        acc[: self.n_fft], env[: self.n_fft] = self._acc, self._env
        power = self.window.square()
        for i in range(n):
            acc[i * hop : i * hop + self.n_fft] += frames[i]
            env[i * hop : i * hop + self.n_fft] += power
        # The first N hops get no more contributions from later frames: they are final.
        done = acc[: n * hop] / env[: n * hop].clamp_min(1e-11)
        keep = done[max(0, -self._acc_start) :]  # positions before the signal are padding
        self._ready = torch.cat([self._ready, keep])
        tail = torch.zeros(hop)
        self._acc, self._env = torch.cat([acc[n * hop :], tail]), torch.cat([env[n * hop :], tail])
        self._acc_start += n * hop
        self._frames += n

    def _emit(self, n: int) -> torch.Tensor:
        # Output i is offline sample i - latency: the first `latency` outputs are silence.
        lead = min(n, max(0, self.latency_samples - self._emitted))
        body = n - lead
        if body > self._ready.numel():  # impossible while latency >= n_fft; never pad silently
            raise RuntimeError(f"stream underrun: need {body} samples, have {self._ready.numel()}")
        out = torch.cat([torch.zeros(lead), self._ready[:body]])
        self._ready = self._ready[body:]
        self._emitted += n
        return out

    @torch.no_grad()
    def flush(self) -> torch.Tensor:
        """The last ``latency_samples`` of output; then ``reset()``.

        Runs exactly the frames the offline STFT has (``1 + T // hop`` for ``T`` samples
        received, the last ones on zero padding) and finishes every remaining sample with the
        window power it got, so the tail equals offline ``model(x)`` too.
        """
        self._input = torch.cat([self._input, torch.zeros(self.n_fft)])
        self._run_frames(1 + self._received // self.hop)
        rest = self._acc / self._env.clamp_min(1e-11)
        start = self._acc_start
        self._ready = torch.cat([self._ready, rest[max(0, -start) : self._received - start]])
        out = self._emit(self._received + self.latency_samples - self._emitted)
        self.reset()
        return out
