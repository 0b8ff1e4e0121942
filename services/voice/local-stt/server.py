#!/usr/bin/env python3
"""Offline speech-to-text over OpenAI's transcription wire protocol.

Serves the Whisper base model (CTranslate2 format, run by faster-whisper) on
    POST /v1/audio/transcriptions   multipart/form-data, as the `openai` SDKs send it
    GET  /healthz                   200 once the model is loaded
It needs no API key (set LOCAL_STT_API_KEY to require one) and never downloads
anything: the model comes from --model-dir, and the Hugging Face hub is switched
off before faster-whisper is imported.

Audio: WAV, 16-bit mono PCM at 8 kHz (upsampled here to 16 kHz) or 16 kHz.
One transcription runs at a time; requests queue on a lock. Each request is
logged as one line on stderr, never with its transcript or prompt.
"""

from __future__ import annotations

import argparse
import hmac
import io
import json
import os
import re
import signal
import socket
import sys
import threading
import time
import wave
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Before faster_whisper (and so huggingface_hub) is imported: never go online.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

import numpy as np

MODEL_NAME = "whisper-base"
MAX_BODY_BYTES = 25 * 1024 * 1024  # OpenAI's own upload limit
MAX_AUDIO_SECONDS = 120.0
MIN_AUDIO_SECONDS = 0.1
MAX_PARTS = 32
MAX_PART_HEADER_BYTES = 8 * 1024
MAX_FIELD_BYTES = 16 * 1024  # any form field but the file (the prompt is the longest)
SILENCE_PEAK = 10 ** (-60 / 20)  # audio that never reaches -60 dBFS is silence
MAX_IN_FLIGHT = 8  # requests past this get 429 (the SDKs retry those)
ACCEPTED_RATES = (8000, 16000)
RESPONSE_FORMATS = ("json", "text", "verbose_json")
MODEL_FILES = ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt")


class ApiError(Exception):
    """An error answered with OpenAI's error body."""

    def __init__(self, status, message, param=None, kind="invalid_request_error", code=None):
        super().__init__(message)
        self.status = int(status)
        self.message = message
        self.param = param
        self.kind = kind
        self.code = code

    def body(self):
        return {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}}


def bad_request(message, param=None):
    return ApiError(HTTPStatus.BAD_REQUEST, message, param)


# ---------------------------------------------------------------- multipart

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_PARAM_RE = re.compile(r";\s*(" + _TOKEN + r')\s*=\s*("(?:[^"\\\r\n]|\\.)*"|' + _TOKEN + r")\s*")
_BOUNDARY_RE = re.compile(r"^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$")  # RFC 2046


def parse_header_value(value):
    """'form-data; name="file"; filename="a.wav"' -> ('form-data', {'name': 'file', ...})."""
    head, _, rest = value.partition(";")
    rest = ";" + rest if rest else ""
    params = {}
    pos = 0
    while pos < len(rest):
        m = _PARAM_RE.match(rest, pos)
        if not m:
            raise bad_request("malformed header parameters in the multipart body")
        key, val = m.group(1).lower(), m.group(2)
        if val.startswith('"'):
            val = re.sub(r"\\(.)", r"\1", val[1:-1])
        if key in params:
            raise bad_request(f"repeated header parameter {key!r} in the multipart body")
        params[key] = val
        pos = m.end()
    return head.strip().lower(), params


def multipart_boundary(content_type):
    kind, params = parse_header_value(content_type or "")
    if kind != "multipart/form-data":
        raise bad_request("the request must be multipart/form-data")
    boundary = params.get("boundary", "")
    if not _BOUNDARY_RE.match(boundary):
        raise bad_request("the multipart/form-data boundary is missing or invalid")
    return boundary.encode("ascii")


def parse_multipart(body, boundary):
    """Strict multipart/form-data parser: returns {name: (filename or None, bytes)}.

    Rejects (400) a body without the closing delimiter, parts without a
    form-data Content-Disposition or a name, repeated names, too many parts
    and oversized headers; ignores the preamble and epilogue as RFC 2046 says.
    """
    delimiter = b"--" + boundary
    if body.startswith(delimiter):
        pos = len(delimiter)
    else:
        start = body.find(b"\r\n" + delimiter)
        if start < 0:
            raise bad_request("the multipart body has no part")
        pos = start + 2 + len(delimiter)
    fields = {}
    while True:
        if body.startswith(b"--", pos):
            return fields  # closing delimiter; the rest is epilogue
        # Transport padding (spaces or tabs) may follow a delimiter.
        while pos < len(body) and body[pos] in b" \t":
            pos += 1
        if not body.startswith(b"\r\n", pos):
            raise bad_request("malformed multipart delimiter line")
        pos += 2
        header_end = body.find(b"\r\n\r\n", pos, pos + MAX_PART_HEADER_BYTES)
        if header_end < 0:
            raise bad_request("a multipart part has no end of headers (or headers that are too long)")
        headers = {}
        for line in body[pos:header_end].split(b"\r\n"):
            if not line:
                continue
            name, sep, value = line.partition(b":")
            if not sep or not name or name.strip() != name:
                raise bad_request("malformed header line in the multipart body")
            try:
                headers[name.decode("ascii").lower()] = value.decode("utf-8").strip()
            except UnicodeDecodeError:
                raise bad_request("malformed header line in the multipart body") from None
        content_start = header_end + 4
        content_end = body.find(b"\r\n" + delimiter, content_start)
        if content_end < 0:
            raise bad_request("the multipart body is truncated (no closing boundary)")
        disposition, params = parse_header_value(headers.get("content-disposition", ""))
        field = params.get("name")
        if disposition != "form-data" or not field:
            raise bad_request("every multipart part needs Content-Disposition: form-data with a name")
        if field in fields:
            raise bad_request(f"the form field {field!r} is repeated", field)
        if len(fields) >= MAX_PARTS:
            raise bad_request("too many multipart parts")
        fields[field] = (params.get("filename"), body[content_start:content_end])
        pos = content_end + 2 + len(delimiter)


def text_field(fields, name, required=False):
    if name not in fields:
        if required:
            raise bad_request(f"you must provide a {name} parameter", name)
        return None
    filename, data = fields[name]
    if filename is not None:
        raise bad_request(f"{name} must be a form field, not a file", name)
    if len(data) > MAX_FIELD_BYTES:
        raise bad_request(f"{name} is too long", name)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise bad_request(f"{name} must be UTF-8 text", name) from None


# ---------------------------------------------------------------- audio


def upsample_2x(x):
    """8 kHz -> 16 kHz by band-limited (FFT) interpolation: no new content above 4 kHz."""
    n = len(x)
    spectrum = np.fft.rfft(x)
    if n % 2 == 0:
        spectrum[-1] *= 0.5  # the old Nyquist bin is split between +f and -f
    padded = np.zeros(n + 1, dtype=spectrum.dtype)  # rfft length for 2n samples
    padded[: len(spectrum)] = spectrum
    return (np.fft.irfft(padded, 2 * n) * 2.0).astype(np.float32)


def decode_wav(data):
    """WAV bytes -> (16 kHz float32 samples in [-1, 1], duration in seconds)."""
    try:
        with wave.open(io.BytesIO(data), "rb") as w:
            channels, width, rate, frames = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
            if channels != 1 or width != 2 or rate not in ACCEPTED_RATES:
                raise bad_request(
                    f"unsupported audio: {channels} channel(s), {8 * width}-bit, {rate} Hz; "
                    "send a WAV file of 16-bit mono PCM at 8000 or 16000 Hz",
                    "file",
                )
            if frames > (MAX_AUDIO_SECONDS + 1) * rate:
                raise bad_request(f"the audio is longer than {MAX_AUDIO_SECONDS:g} seconds", "file")
            pcm = w.readframes(frames)
    except (wave.Error, EOFError) as err:
        detail = f" ({err})" if str(err) else ""
        raise bad_request(
            f"the file is not a supported WAV file{detail}; send 16-bit mono PCM at 8000 or 16000 Hz", "file"
        ) from None
    samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2").astype(np.float32) / 32768.0
    duration = len(samples) / rate
    if duration > MAX_AUDIO_SECONDS:
        raise bad_request(f"the audio is longer than {MAX_AUDIO_SECONDS:g} seconds", "file")
    if duration < MIN_AUDIO_SECONDS:
        raise bad_request(f"the audio is shorter than {MIN_AUDIO_SECONDS:g} seconds", "file")
    if rate == 8000:
        samples = upsample_2x(samples)
    return samples, duration


# ---------------------------------------------------------------- model


class Transcriber:
    def __init__(self, model_dir, threads, compute_type):
        missing = [f for f in MODEL_FILES if not os.path.isfile(os.path.join(model_dir, f))]
        if missing:
            raise SystemExit(f"local-stt: {model_dir} lacks {', '.join(missing)}")
        from faster_whisper import WhisperModel
        from faster_whisper.tokenizer import _LANGUAGE_CODES

        self.languages = frozenset(_LANGUAGE_CODES)
        self.model = WhisperModel(
            model_dir, device="cpu", compute_type=compute_type, cpu_threads=threads, local_files_only=True
        )
        self.lock = threading.Lock()

    def transcribe(self, audio, language, prompt, temperature):
        """-> (segments, seconds waited for the lock, seconds decoding)."""
        asked = time.monotonic()
        with self.lock:
            started = time.monotonic()
            segments, _info = self.model.transcribe(
                audio,
                language=language,
                initial_prompt=prompt or None,
                temperature=temperature,
                beam_size=1,
                vad_filter=False,
                without_timestamps=True,
                condition_on_previous_text=False,
            )
            segments = list(segments)  # decoding happens while the generator is consumed
            return segments, started - asked, time.monotonic() - started


# ---------------------------------------------------------------- HTTP


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "parley-local-stt"
    sys_version = ""
    timeout = 60  # seconds of socket inactivity before a connection is dropped

    # Set on the class by main().
    transcriber: Transcriber = None
    api_key: bytes | None = None
    in_flight = threading.BoundedSemaphore(MAX_IN_FLIGHT)

    def log_request(self, code="-", size="-"):
        pass  # one line per request comes from finish_request_log instead

    def log_message(self, fmt, *args):
        sys.stderr.write(f"local-stt: {self.address_string()} {fmt % args}\n")

    def finish_request_log(self, status, started, extra=""):
        ms = (time.monotonic() - started) * 1000
        path = re.sub(r"[^\x21-\x7e]", "?", self.path.split("?", 1)[0][:100])
        sys.stderr.write(f"local-stt: {self.command} {path} {status} {ms:.0f}ms{extra}\n")
        sys.stderr.flush()

    def send_body(self, status, body, content_type="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_error_body(self, err):
        self.send_body(err.status, err.body())

    # -- routing

    def do_GET(self):
        started = time.monotonic()
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            self.send_body(200, {"status": "ok", "model": MODEL_NAME})
            status = 200
        else:
            status = self.refuse_unknown(path)
        self.finish_request_log(status, started)

    do_HEAD = do_GET

    def do_POST(self):
        started = time.monotonic()
        path = self.path.split("?", 1)[0]
        if path != "/v1/audio/transcriptions":
            self.finish_request_log(self.refuse_unknown(path), started)
            return
        if not self.in_flight.acquire(blocking=False):
            err = ApiError(
                429,
                "too many transcription requests at once; retry shortly",
                kind="rate_limit_error",
                code="rate_limit_exceeded",
            )
            self.reject(err)
            self.finish_request_log(429, started)
            return
        try:
            status, extra = self.transcription()
        finally:
            self.in_flight.release()
        self.finish_request_log(status, started, extra)

    def do_PUT(self):
        self.method_not_allowed()

    do_DELETE = do_PATCH = do_PUT

    def method_not_allowed(self):
        started = time.monotonic()
        self.reject(ApiError(405, f"{self.command} is not allowed here"))
        self.finish_request_log(405, started)

    def refuse_unknown(self, path):
        if path in ("/healthz", "/v1/audio/transcriptions"):
            self.reject(ApiError(405, f"{self.command} is not allowed on {path}"))
            return 405
        self.reject(ApiError(404, f"unknown path {path[:100]!r}"))
        return 404

    def reject(self, err, drain=True):
        """Answers an error before the request's body was read. A client still uploading
        that gets an answer and then a closed socket sees a reset rather than the answer,
        so: drop a body of declared length within the limit and keep the connection;
        else answer, stop writing and read what still comes for a while (a lingering
        close) before closing."""
        if drain and self.drop_body():
            self.send_error_body(err)
            return
        self.close_connection = True
        self.send_error_body(err)
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(2)
            deadline, dropped = time.monotonic() + 10, 0
            while time.monotonic() < deadline and dropped < 4 * MAX_BODY_BYTES:
                data = self.rfile.read1(65536)
                if not data:
                    break
                dropped += len(data)
        except OSError:
            pass

    def drop_body(self):
        """Reads and drops a body of declared length within the limit; False if there is another."""
        if self.headers.get("Transfer-Encoding"):
            return False
        length = self.headers.get("Content-Length", "0")
        if not length.isdigit() or int(length) > MAX_BODY_BYTES:
            return False
        remaining = int(length)
        while remaining:
            data = self.rfile.read(min(65536, remaining))
            if not data:
                return False
            remaining -= len(data)
        return True

    # -- the endpoint

    def check_auth(self):
        if self.api_key is None:
            return
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        if not (scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode("utf-8"), self.api_key)):
            raise ApiError(401, "Incorrect API key provided.", code="invalid_api_key")

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self.read_chunked()
        length = self.headers.get("Content-Length")
        if length is None:
            raise ApiError(411, "a Content-Length or chunked body is required")
        if not length.isdigit():
            raise bad_request("invalid Content-Length")
        if int(length) > MAX_BODY_BYTES:
            raise ApiError(413, f"the request is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB")
        body = self.rfile.read(int(length))
        if len(body) != int(length):
            raise bad_request("the request body ended early")
        return body

    def read_chunked(self):
        parts, total = [], 0
        while True:
            line = self.rfile.readline(1024)
            size_text = line.split(b";", 1)[0].strip()
            if not line.endswith(b"\n") or not re.fullmatch(rb"[0-9A-Fa-f]{1,8}", size_text):
                raise bad_request("malformed chunked body")
            size = int(size_text, 16)
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            total += size
            if total > MAX_BODY_BYTES:
                raise ApiError(413, f"the request is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB")
            chunk = self.rfile.read(size)
            if len(chunk) != size or self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise bad_request("malformed chunked body")
            parts.append(chunk)

    def transcription(self):
        """Answers one transcription request; returns (status, log suffix)."""
        try:
            self.check_auth()
            boundary = multipart_boundary(self.headers.get("Content-Type"))
        except ApiError as err:
            self.reject(err)
            return err.status, ""
        try:
            body = self.read_body()
        except ApiError as err:
            self.reject(err, drain=False)
            return err.status, ""
        try:
            fields = parse_multipart(body, boundary)
            del body
            text_field(fields, "model", required=True)  # any model name is accepted
            language = (text_field(fields, "language") or "en").strip().lower()
            if language not in self.transcriber.languages:
                raise bad_request(f"unsupported language {language[:20]!r}; use an ISO 639-1 code", "language")
            prompt = text_field(fields, "prompt")
            response_format = (text_field(fields, "response_format") or "json").strip()
            if response_format not in RESPONSE_FORMATS:
                raise bad_request(f"response_format must be one of {', '.join(RESPONSE_FORMATS)}", "response_format")
            temperature = self.temperature(text_field(fields, "temperature"))
            if (text_field(fields, "stream") or "false").strip().lower() not in ("false", ""):
                raise bad_request("streaming is not supported", "stream")
            if "file" not in fields:
                raise bad_request("you must provide a file", "file")
            filename, data = fields.pop("file")
            if filename is None:
                raise bad_request("file must be a file upload", "file")
            audio, duration = decode_wav(data)
            del data, fields
        except ApiError as err:
            self.send_error_body(err)
            return err.status, ""

        if not np.any(np.abs(audio) >= SILENCE_PEAK):
            # Whisper "hears" words (e.g. "you") in pure silence; don't ask it.
            segments, waited, decoding = [], 0.0, 0.0
        else:
            try:
                segments, waited, decoding = self.transcriber.transcribe(audio, language, prompt, temperature)
            except Exception as err:  # noqa: BLE001 - answered as OpenAI answers its own failures
                sys.stderr.write(f"local-stt: transcription failed: {type(err).__name__}: {err}\n")
                self.send_error_body(ApiError(500, "the transcription failed", kind="server_error"))
                return 500, ""
        text = "".join(s.text for s in segments).strip()
        if response_format == "text":
            self.send_body(200, (text + "\n").encode("utf-8"), "text/plain; charset=utf-8")
        elif response_format == "verbose_json":
            self.send_body(
                200,
                {
                    "task": "transcribe",
                    "language": language,
                    "duration": round(duration, 3),
                    "text": text,
                    "segments": [
                        {
                            "id": i,
                            "seek": s.seek,
                            "start": s.start,
                            "end": s.end,
                            "text": s.text,
                            "tokens": s.tokens,
                            "temperature": s.temperature,
                            "avg_logprob": s.avg_logprob,
                            "compression_ratio": s.compression_ratio,
                            "no_speech_prob": s.no_speech_prob,
                        }
                        for i, s in enumerate(segments)
                    ],
                },
            )
        else:
            self.send_body(200, {"text": text})
        return 200, (
            f" audio={duration:.2f}s queued={waited * 1000:.0f}ms decode={decoding * 1000:.0f}ms"
            f" lang={language} format={response_format}"
        )

    @staticmethod
    def temperature(value):
        """One decoding pass at this temperature (default 0). Unlike OpenAI's API, 0 does
        not fall back to higher temperatures on a doubtful decode: that made a short
        utterance cost up to 6 passes and its text random, where a voice call needs a
        quick and repeatable answer."""
        if value is None or not value.strip():
            return 0.0
        try:
            t = float(value)
        except ValueError:
            raise bad_request("temperature must be a number between 0 and 1", "temperature") from None
        if not 0.0 <= t <= 1.0:
            raise bad_request("temperature must be a number between 0 and 1", "temperature")
        return t


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def handle_error(self, request, client_address):
        # A dropped client is no error worth a traceback; anything else is logged once.
        err = sys.exc_info()[1]
        if isinstance(err, (ConnectionError, TimeoutError)):
            return
        sys.stderr.write(f"local-stt: error while handling a request: {type(err).__name__}: {err}\n")


def main(argv=None):
    env = os.environ
    default_threads = min(4, os.cpu_count() or 1)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    p.add_argument("--host", default=env.get("LOCAL_STT_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(env.get("LOCAL_STT_PORT", "8000")))
    p.add_argument(
        "--model-dir",
        default=env.get("LOCAL_STT_MODEL_DIR"),
        help="directory with model.bin, config.json, tokenizer.json, vocabulary.txt",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=int(env.get("LOCAL_STT_THREADS", default_threads)),
        help="CPU threads for one transcription (default: %(default)s)",
    )
    p.add_argument("--compute-type", default=env.get("LOCAL_STT_COMPUTE_TYPE", "int8"))
    args = p.parse_args(argv)
    if not args.model_dir:
        p.error("--model-dir (or LOCAL_STT_MODEL_DIR) is required")
    if args.threads < 1:
        p.error("--threads must be at least 1")

    key = env.get("LOCAL_STT_API_KEY")
    Handler.api_key = key.encode("utf-8") if key else None

    # Bind first, so a taken port fails at once; requests wait in the backlog while the model loads.
    server = Server((args.host, args.port), Handler)
    started = time.monotonic()
    Handler.transcriber = Transcriber(args.model_dir, args.threads, args.compute_type)
    sys.stderr.write(
        f"local-stt: {MODEL_NAME} ({args.compute_type}, {args.threads} threads) loaded in "
        f"{time.monotonic() - started:.2f}s; listening on http://{args.host}:{server.server_address[1]}/v1"
        f"{' (API key required)' if key else ''}\n"
    )
    sys.stderr.flush()

    def stop(signum, _frame):
        sys.stderr.write(f"local-stt: signal {signum}; stopping\n")
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
