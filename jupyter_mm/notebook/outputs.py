"""Recording a cell's outputs while the user still sees them live.

stdout/stderr writes and display messages are teed into nbformat output dicts (stream,
display_data, execute_result), so a run keeps exactly what its cell showed, images included.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from .failsafe import swallowed

_log = logging.getLogger(__name__)

MAX_STREAM_CHARS = 5_000_000


class _Tee:
    def __init__(self, stream: Any, sink: list[str]) -> None:
        self._stream = stream
        self._sink = sink
        self._size = 0

    def write(self, text: str) -> Any:
        if self._size < MAX_STREAM_CHARS and isinstance(text, str):
            self._sink.append(text)
            self._size += len(text)
        return self._stream.write(text)

    def __getattr__(self, name: str) -> Any:  # flush, isatty, encoding, ... as the real stream
        return getattr(self._stream, name)


class OutputRecorder:
    """Context manager; ``outputs()`` returns nbformat v4 output dicts in arrival order."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self._events: list[tuple[str, Any]] = []
        self._stdout: list[str] = []
        self._stderr: list[str] = []
        self._saved: dict[str, Any] = {}

    def __enter__(self) -> OutputRecorder:
        self._saved = {"stdout": sys.stdout, "stderr": sys.stderr}
        self._out_tee = _Tee(sys.stdout, self._stdout)
        self._err_tee = _Tee(sys.stderr, self._stderr)
        sys.stdout, sys.stderr = self._out_tee, self._err_tee
        pub = getattr(self.shell, "display_pub", None)
        if pub is not None and hasattr(pub, "publish"):
            original = pub.publish
            self._saved["publish"] = (pub, original)

            def publish(data: Any, metadata: Any = None, *args: Any, **kwargs: Any) -> Any:
                with swallowed(_log, "recording a display message"):
                    self._flush_streams()
                    self._events.append(("display_data", (dict(data or {}), dict(metadata or {}))))
                return original(data, metadata, *args, **kwargs)

            pub.publish = publish
        return self

    def _flush_streams(self) -> None:
        for name, sink in (("stdout", self._stdout), ("stderr", self._stderr)):
            if sink:
                self._events.append(("stream", (name, "".join(sink))))
                sink.clear()

    def __exit__(self, *exc: Any) -> None:
        # put back only what we replaced, even if the cell swapped streams meanwhile
        if sys.stdout is self._out_tee:
            sys.stdout = self._saved["stdout"]
        if sys.stderr is self._err_tee:
            sys.stderr = self._saved["stderr"]
        if "publish" in self._saved:
            pub, original = self._saved["publish"]
            pub.publish = original
        self._flush_streams()

    def add_result(self, value: Any, execution_count: int | None) -> None:
        """The cell's last-expression value, as IPython will display it."""
        with swallowed(_log, "recording the cell's result"):
            data, metadata = self.shell.display_formatter.format(value)
            self._events.append(("execute_result", (data, metadata, execution_count)))

    def outputs(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for kind, payload in self._events:
            if kind == "stream":
                name, text = payload
                if out and out[-1]["output_type"] == "stream" and out[-1]["name"] == name:
                    out[-1]["text"] += text
                else:
                    out.append({"output_type": "stream", "name": name, "text": text})
            elif kind == "display_data":
                data, metadata = payload
                out.append({"output_type": "display_data", "data": data, "metadata": metadata})
            else:
                data, metadata, count = payload
                out.append(
                    {
                        "output_type": "execute_result",
                        "data": data,
                        "metadata": metadata,
                        "execution_count": count,
                    }
                )
        return out
