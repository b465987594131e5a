"""Conv2D: 2-D cross-correlation over NHWC images, with exact ``tf.nn.conv2d`` semantics.

Shapes: input ``x`` is ``(batch, height, width, in_channels)``; the kernel is
``(fh, fw, in_channels, filters)``; the bias is ``(filters,)``; the output is
``(batch, out_height, out_width, filters)``. There is no kernel flip:

    y[n, p, q, f] = b[f] + sum_{i, j, c} x_pad[n, p*s_h + i*d_h, q*s_w + j*d_w, c] * k[i, j, c, f]

Geometry, per spatial axis, with the effective kernel size ``f_eff = d * (f - 1) + 1``:

* VALID: ``out = floor((in - f_eff) / s) + 1``, no padding.
* SAME:  ``out = ceil(in / s)``, total padding ``P = max((out - 1) * s + f_eff - in, 0)``,
  ``floor(P / 2)`` on top/left and the rest on bottom/right (an odd ``P`` puts the extra
  row at the bottom and the extra column at the right).

Gradients, for the upstream gradient ``J = dL/dy`` (shaped like ``y``):

* ``dL/db[f] = sum of J[..., f]``
* ``dL/dk[i, j, c, f] = sum_{n,p,q} x_pad[n, p*s_h + i*d_h, q*s_w + j*d_w, c] * J[n, p, q, f]``
* ``dL/dx``: every ``J[n, p, q, f] * k[i, j, c, f]`` flows back to the input pixel it
  came from; then the padding is cut away.

The implementation is vectorized with *im2col*: for each kernel offset ``(i, j)`` copy
the strided window of the padded input into a column block, then one matrix product
does all output pixels of a chunk of the batch at once.
"""

from __future__ import annotations

from typing import Any

from beras import backend
from beras.core import Diffable, Variable
from beras.initializers import initialize
from beras.layers import _checks
from beras.layers.geometry import axis_geometry, strided_window

# Below this many input channels, im2col runs channel-major (see Conv2D._channel_major).
CHANNEL_MAJOR_BELOW = 16


class Conv2D(Diffable):
    """2-D convolution layer with weights ``[kernel, bias]`` (``[kernel]`` without bias).

    Args:
        filters: number of output channels.
        kernel_size: ``fh`` and ``fw``, an int or a pair.
        strides: an int or a pair, each at least 1.
        padding: ``"valid"`` or ``"same"`` (case-insensitive).
        dilation_rate: an int or a pair, each at least 1.
        use_bias: whether to add a bias per filter.
        input_channels: in_channels; when None, inferred from the first input.
        initializer: how the kernel starts (see ``beras.initializers``).
    """

    def __init__(
        self,
        filters: int,
        kernel_size: Any,
        strides: Any = 1,
        padding: str = "valid",
        dilation_rate: Any = 1,
        use_bias: bool = True,
        input_channels: int | None = None,
        initializer: str = "xavier_uniform",
    ) -> None:
        if not isinstance(filters, int) or isinstance(filters, bool) or filters < 1:
            raise ValueError(f"Conv2D: filters must be a positive int. Received: filters={filters!r}")
        self.filters = filters
        self.kernel_size = _checks.positive_pair("Conv2D", "kernel_size", kernel_size)
        self.strides = _checks.positive_pair("Conv2D", "strides", strides)
        self.dilation_rate = _checks.positive_pair("Conv2D", "dilation_rate", dilation_rate)
        self.padding = _checks.padding_mode("Conv2D", padding)
        self.use_bias = bool(use_bias)
        self.initializer = initializer
        self.kernel: Variable | None = None
        self.bias: Variable | None = None
        if input_channels is not None:
            self.build(input_channels)

    def build(self, input_channels: int) -> None:
        """Create the kernel and bias for ``input_channels`` input channels."""
        if not isinstance(input_channels, int) or input_channels < 1:
            raise ValueError(
                f"Conv2D: input_channels must be a positive int. Received: {input_channels!r}"
            )
        fh, fw = self.kernel_size
        shape = (fh, fw, input_channels, self.filters)
        self.kernel = Variable(initialize(self.initializer, shape, owner="Conv2D"))
        self.bias = Variable(initialize("zero", (self.filters,))) if self.use_bias else None

    @property
    def weights(self) -> list:
        if self.kernel is None:
            return []
        return [self.kernel, self.bias] if self.use_bias else [self.kernel]

    @property
    def effective_kernel_size(self) -> tuple[int, int]:
        """``d * (f - 1) + 1`` per axis: the span of the kernel once dilated."""
        return tuple(d * (f - 1) + 1 for f, d in zip(self.kernel_size, self.dilation_rate))

    def output_geometry(self, in_h: int, in_w: int) -> tuple:
        """Return ``(out_h, out_w, (pad_top, pad_bottom), (pad_left, pad_right))``."""
        (out_h, pad_h), (out_w, pad_w) = (
            axis_geometry(n, f_eff, s, self.padding)
            for n, f_eff, s in zip((in_h, in_w), self.effective_kernel_size, self.strides)
        )
        return out_h, out_w, pad_h, pad_w

    def _check_input(self, x: Any) -> None:
        shape = _checks.rank("Conv2D", x, 4, "(batch, height, width, in_channels)")
        if self.kernel is None:
            self.build(int(shape[-1]))
        expected = self.kernel.shape[2]
        if shape[-1] != expected:
            raise ValueError(
                f"Conv2D expects {expected} input channels (batch, height, width, {expected}). "
                f"Received: input of shape {shape}"
            )
        eff_h, eff_w = self.effective_kernel_size
        if self.padding == "valid" and (shape[1] < eff_h or shape[2] < eff_w):
            raise ValueError(
                f"Conv2D with padding='valid' needs an input at least as large as the "
                f"(dilated) kernel {eff_h}x{eff_w}. Received: input of shape {shape}"
            )

    def forward(self, x: Any) -> Any:
        """Convolve ``x`` (batch, height, width, in_channels) with the kernel, add the bias."""
        self._check_input(x)
        # BEGIN SOLUTION
        xp = backend.xp()
        x = backend.asarray(x)
        xpad, (out_h, out_w) = self._padded(x)
        kmat = self._kernel_matrix(x.dtype)
        major = self._channel_major(x.shape[-1])
        out = xp.empty((x.shape[0], out_h, out_w, self.filters), kmat.dtype)
        for start, stop, cols in self._column_chunks(xpad, out_h, out_w, kmat.dtype):
            rows = (stop - start) * out_h * out_w
            xp.matmul(self._as_rows(cols, rows, major), kmat, out=out[start:stop].reshape(rows, -1))
        if self.use_bias:
            out += backend.asarray(self.bias).astype(out.dtype, copy=False)
        return out
        # END SOLUTION

    def get_input_gradients(self) -> list:
        """The local derivative with respect to the input is the kernel itself."""
        # BEGIN SOLUTION
        return [self.kernel]
        # END SOLUTION

    def get_weight_gradients(self) -> list:
        """The local derivatives: the input (for the kernel) and ones (for the bias)."""
        # BEGIN SOLUTION
        xp = backend.xp()
        grads = [backend.asarray(self.inputs[0])]
        if self.use_bias:
            grads.append(xp.ones_like(self.bias))
        return grads
        # END SOLUTION

    def compose_input_gradients(self, J: Any = None) -> list:
        """``dL/dx`` for the upstream gradient ``J`` (batch, out_h, out_w, filters)."""
        if J is None:
            return self.get_input_gradients()
        # BEGIN SOLUTION
        dx, dkernel, dbias = self._backward(J, need_input=True)
        # compose_weight_gradients usually follows with the same J: keep its share
        self._weight_grads_for = (J, self.inputs[0], [dkernel, dbias])
        return [dx]
        # END SOLUTION

    def compose_weight_gradients(self, J: Any = None) -> list:
        """``[dL/dkernel, dL/dbias]`` for the upstream gradient ``J``."""
        if J is None:
            return self.get_weight_gradients()
        # BEGIN SOLUTION
        cached = self.__dict__.pop("_weight_grads_for", None)
        if cached is not None and cached[0] is J and cached[1] is self.inputs[0]:
            dkernel, dbias = cached[2]
        else:
            _, dkernel, dbias = self._backward(J, need_input=False)
        return [dkernel, dbias] if self.use_bias else [dkernel]
        # END SOLUTION

    # BEGIN SOLUTION
    def _padded(self, x: Any) -> tuple:
        """Return the zero-padded input and the output size ``(out_h, out_w)``."""
        out_h, out_w, pad_h, pad_w = self.output_geometry(x.shape[1], x.shape[2])
        if any(pad_h) or any(pad_w):
            x = backend.xp().pad(x, ((0, 0), pad_h, pad_w, (0, 0)))
        return x, (out_h, out_w)

    def _kernel_matrix(self, input_dtype: Any) -> Any:
        """The kernel as a ``(fh * fw * in_channels, filters)`` matrix in the compute dtype."""
        xp = backend.xp()
        kernel = backend.asarray(self.kernel)
        dtype = xp.result_type(input_dtype, kernel.dtype)
        if dtype.kind != "f":
            dtype = xp.dtype(backend.floatx())
        return kernel.reshape(-1, self.filters).astype(dtype, copy=False)

    def _channel_major(self, channels: int) -> bool:
        """Few channels: build columns channel-major, so each copy moves a whole output row.

        NHWC columns copy runs of ``in_channels`` values (3 for RGB), which is slow;
        channel-major columns copy runs of ``out_w`` values instead.
        """
        return channels < CHANNEL_MAJOR_BELOW

    def _window(self, padded: Any, i: int, j: int, out_h: int, out_w: int, axis: int = 1) -> Any:
        """The input pixels kernel offset ``(i, j)`` sees, one per output pixel.

        ``axis`` is the position of the height axis: 1 for NHWC, 2 for channel-major
        ``(C, N, H, W)``.
        """
        (dh, dw) = self.dilation_rate
        return strided_window(padded, i * dh, j * dw, out_h, out_w, self.strides, axis)

    @staticmethod
    def _as_rows(cols: Any, rows: int, major: bool) -> Any:
        """Columns as a ``(rows, fh * fw * in_channels)`` matrix (a transposed view if channel-major)."""
        return cols.reshape(-1, rows).T if major else cols.reshape(rows, -1)

    def _column_chunks(self, xpad: Any, out_h: int, out_w: int, dtype: Any):
        """Yield ``(start, stop, cols)``: im2col columns for batch items ``start:stop``.

        NHWC layout: ``cols`` is ``(b, out_h, out_w, fh, fw, C)``. Channel-major layout:
        ``(fh, fw, C, b, out_h, out_w)``. The buffer is reused between chunks, so use
        ``cols`` before asking for the next chunk.
        """
        xp = backend.xp()
        fh, fw = self.kernel_size
        n, channels = xpad.shape[0], xpad.shape[-1]
        major = self._channel_major(channels)
        per_item = out_h * out_w * fh * fw * channels * xp.dtype(dtype).itemsize
        chunk = max(1, min(n, backend.conv_chunk_bytes() // max(per_item, 1)))
        buffer = xp.empty(chunk * out_h * out_w * fh * fw * channels, dtype)
        source = xp.ascontiguousarray(xpad.transpose(3, 0, 1, 2)) if major else xpad
        for start in range(0, n, chunk):
            stop = min(start + chunk, n)
            b = stop - start
            if major:
                cols = buffer[: buffer.size // chunk * b].reshape(fh, fw, channels, b, out_h, out_w)
                part = source[:, start:stop]
                for i in range(fh):
                    for j in range(fw):
                        cols[i, j] = self._window(part, i, j, out_h, out_w, axis=2)
            else:
                cols = buffer[: buffer.size // chunk * b].reshape(b, out_h, out_w, fh, fw, channels)
                part = source[start:stop]
                for i in range(fh):
                    for j in range(fw):
                        cols[:, :, :, i, j, :] = self._window(part, i, j, out_h, out_w)
            yield start, stop, cols

    def _input_gradient_by_correlation(self, J: Any, input_shape: tuple, dtype: Any) -> Any:
        """``dL/dx`` for stride 1, as a correlation of the padded ``J`` with the flipped kernel.

        ``dx[u] = sum_i J[u + pad_top - i*d] k[i]``; with ``i' = fh - 1 - i`` this is a
        VALID correlation of ``J`` padded by ``f_eff - 1 - pad`` on each side with the kernel
        flipped in space and with in/out channels swapped. It replaces the col2im scatter,
        which moves nine times the input's bytes for a 3x3 kernel.
        """
        xp = backend.xp()
        height, width = input_shape[1:3]
        (top, bottom), (left, right) = self.output_geometry(height, width)[2:]
        eff_h, eff_w = self.effective_kernel_size
        pads = ((0, 0), (eff_h - 1 - top, eff_h - 1 - bottom), (eff_w - 1 - left, eff_w - 1 - right), (0, 0))
        j_pad = xp.pad(J, pads) if any(p for pair in pads for p in pair) else J
        flipped = backend.asarray(self.kernel)[::-1, ::-1].transpose(0, 1, 3, 2)
        fmat = xp.ascontiguousarray(flipped.astype(dtype, copy=False)).reshape(-1, input_shape[3])
        major = self._channel_major(J.shape[-1])
        dx = xp.empty(input_shape, dtype)
        for start, stop, cols in self._column_chunks(j_pad, height, width, dtype):
            rows = (stop - start) * height * width
            xp.matmul(self._as_rows(cols, rows, major), fmat, out=dx[start:stop].reshape(rows, -1))
        return dx

    def _backward(self, J: Any, need_input: bool) -> tuple:
        """Return ``(dx or None, dkernel, dbias or None)`` for the upstream gradient ``J``."""
        xp = backend.xp()
        x = backend.asarray(self.inputs[0])
        n, height, width, channels = x.shape
        xpad, (out_h, out_w) = self._padded(x)
        kmat = self._kernel_matrix(x.dtype)
        J = backend.asarray(J).astype(kmat.dtype, copy=False)
        fh, fw = self.kernel_size
        major = self._channel_major(channels)
        # stride 1 with many channels: dL/dx by correlation; otherwise scatter dL/dcols (col2im)
        scatter = need_input and (major or self.strides != (1, 1))
        dx = None
        if need_input and not scatter:
            dx = self._input_gradient_by_correlation(J, x.shape, kmat.dtype)
        dkmat = xp.zeros_like(kmat)
        dxpad = None
        if scatter:
            shape = (channels, n) + xpad.shape[1:3] if major else xpad.shape
            dxpad = xp.zeros(shape, kmat.dtype)
        for start, stop, cols in self._column_chunks(xpad, out_h, out_w, kmat.dtype):
            rows = (stop - start) * out_h * out_w
            j_rows = J[start:stop].reshape(rows, self.filters)
            as_rows = self._as_rows(cols, rows, major)
            dkmat += as_rows.T @ j_rows
            if not scatter:
                continue
            # reuse the column buffer for dL/dcols, then scatter it back (col2im)
            if major:
                xp.matmul(kmat, j_rows.T, out=cols.reshape(-1, rows))
                target = dxpad[:, start:stop]
                for i in range(fh):
                    for j in range(fw):
                        window = self._window(target, i, j, out_h, out_w, axis=2)
                        xp.add(window, cols[i, j], out=window)
            else:
                xp.matmul(j_rows, kmat.T, out=cols.reshape(rows, -1))
                target = dxpad[start:stop]
                for i in range(fh):
                    for j in range(fw):
                        # add(out=) rather than `view[...] +=`, which copies the sum onto itself again
                        window = self._window(target, i, j, out_h, out_w)
                        xp.add(window, cols[:, :, :, i, j, :], out=window)
        if scatter:
            (top, _), (left, _) = self.output_geometry(height, width)[2:]
            if major:
                dx = dxpad[:, :, top : top + height, left : left + width].transpose(1, 2, 3, 0)
            else:
                dx = dxpad[:, top : top + height, left : left + width, :]
            dx = xp.ascontiguousarray(dx)
        dbias = J.sum(axis=(0, 1, 2)) if self.use_bias else None
        return dx, dkmat.reshape(self.kernel.shape), dbias
    # END SOLUTION
