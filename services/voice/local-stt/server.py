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
import email.parser
import email.policy
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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Before faster_whisper (and so huggingface_hub) is imported: never go online.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

import numpy as np

MODEL_NAME = "whisper-base"
MODEL_FILES = ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt")
MAX_BODY_BYTES = 25 * 1024 * 1024  # OpenAI's own upload limit
TOO_LARGE = f"the request is larger than {MAX_BODY_BYTES >> 20} MB"
MAX_AUDIO_SECONDS, MIN_AUDIO_SECONDS = 120.0, 0.1
MAX_PARTS = 32
MAX_FIELD_BYTES = 16 * 1024  # any form field but the file (the prompt is the longest)
SILENCE_PEAK = 10 ** (-60 / 20)  # audio that never reaches -60 dBFS is silence
MAX_IN_FLIGHT = 8  # requests past this get 429 (the SDKs retry those)
ACCEPTED_RATES = (8000, 16000)
WAV_HINT = "send a WAV file of 16-bit mono PCM at 8000 or 16000 Hz"
RESPONSE_FORMATS = ("json", "text", "verbose_json")
SEGMENT_KEYS = "seek start end text tokens temperature avg_logprob compression_ratio no_speech_prob".split()
ROUTES = {"/healthz": ("GET", "HEAD"), "/v1/audio/transcriptions": ("POST",)}


class ApiError(Exception):
    """An error answered with OpenAI's error body."""

    def __init__(self, status, message, param=None, kind="invalid_request_error", code=None):
        super().__init__(message)
        self.status, self.param, self.kind, self.code = status, param, kind, code

    def body(self):
        return {"error": {"message": str(self), "type": self.kind, "param": self.param, "code": self.code}}


def bad_request(message, param=None):
    return ApiError(400, message, param)


def parse_form(content_type, body):
    """multipart/form-data -> {name: (filename or None, bytes)}, by the standard library's MIME parser.

    A body the parser had to repair (no closing boundary, a part without headers...), a part that
    is not form-data with a name, a repeated name or too many parts are refused (400)."""
    head = b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n"
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    parts = list(msg.iter_parts()) if msg.is_multipart() else []
    if not parts or msg.defects:
        raise bad_request("malformed multipart/form-data body")
    if len(parts) > MAX_PARTS:
        raise bad_request("too many multipart parts")
    fields = {}
    for part in parts:
        name, data = part.get_param("name", header="content-disposition"), part.get_payload(decode=True)
        if part.defects or part.get_content_disposition() != "form-data" or not isinstance(name, str) or not name:
            raise bad_request("every multipart part needs Content-Disposition: form-data with a name")
        if data is None or name in fields:
            raise bad_request(f"the form field {name!r} is repeated or not plain data", name)
        fields[name] = (part.get_filename(), data)
    return fields


def form_options(fields, languages):
    """The form's fields -> (language, prompt, response_format, temperature, WAV bytes), or a 400.

    The temperature (default 0) is that of the one decoding pass: unlike OpenAI's API, 0 does not
    fall back to higher temperatures on a doubtful decode, which made a short utterance cost up to
    6 passes and its text random, where a voice call needs a quick and repeatable answer."""

    def text(name):
        filename, data = fields.get(name, (None, None))
        if data is not None and (filename is not None or len(data) > MAX_FIELD_BYTES):
            raise bad_request(f"{name} must be a form field of at most {MAX_FIELD_BYTES} bytes", name)
        try:
            return None if data is None else data.decode("utf-8")
        except UnicodeDecodeError:
            raise bad_request(f"{name} must be UTF-8 text", name) from None

    if text("model") is None:  # any model name is accepted
        raise bad_request("you must provide a model parameter", "model")
    if (language := (text("language") or "en").strip().lower()) not in languages:
        raise bad_request(f"unsupported language {language[:20]!r}; use an ISO 639-1 code", "language")
    if (response_format := (text("response_format") or "json").strip()) not in RESPONSE_FORMATS:
        raise bad_request(f"response_format must be one of {', '.join(RESPONSE_FORMATS)}", "response_format")
    try:
        temperature = float((text("temperature") or "").strip() or 0)
    except ValueError:
        temperature = -1.0
    if not 0.0 <= temperature <= 1.0:
        raise bad_request("temperature must be a number between 0 and 1", "temperature")
    if (text("stream") or "false").strip().lower() not in ("false", ""):
        raise bad_request("streaming is not supported", "stream")
    filename, data = fields.get("file", (None, None))
    if filename is None:
        raise bad_request("you must provide a file (as a file upload)", "file")
    return language, text("prompt"), response_format, temperature, data


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
                unsupported = f"{channels} channel(s), {8 * width}-bit, {rate} Hz"
                raise bad_request(f"unsupported audio: {unsupported}; {WAV_HINT}", "file")
            pcm = w.readframes(frames)
    except (wave.Error, EOFError) as err:
        detail = f" ({err})" if str(err) else ""
        raise bad_request(f"the file is not a supported WAV file{detail}; {WAV_HINT}", "file") from None
    samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2").astype(np.float32) / 32768.0
    duration = len(samples) / rate
    if not MIN_AUDIO_SECONDS <= duration <= MAX_AUDIO_SECONDS:
        raise bad_request(f"the audio must last {MIN_AUDIO_SECONDS:g} to {MAX_AUDIO_SECONDS:g} seconds", "file")
    return (upsample_2x(samples) if rate == 8000 else samples), duration


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
                audio, language=language, initial_prompt=prompt or None, temperature=temperature, beam_size=1,
                vad_filter=False, without_timestamps=True, condition_on_previous_text=False,
            )
            segments = list(segments)  # decoding happens while the generator is consumed
            return segments, started - asked, time.monotonic() - started


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version, sys_version = "parley-local-stt", ""
    timeout = 60  # seconds of socket inactivity before a connection is dropped
    transcriber: Transcriber = None  # set by main()
    api_key: bytes | None = None  # set by main()
    in_flight = threading.BoundedSemaphore(MAX_IN_FLIGHT)

    def log_request(self, code="-", size="-"):
        pass  # route() logs one line per request

    def log_message(self, fmt, *args):
        sys.stderr.write(f"local-stt: {self.address_string()} {fmt % args}\n")

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

    def route(self):
        started, extra, self.body_read = time.monotonic(), "", None
        path = self.path.split("?", 1)[0]
        try:
            if path not in ROUTES:
                raise ApiError(404, f"unknown path {path[:100]!r}")
            if self.command not in ROUTES[path]:
                raise ApiError(405, f"{self.command} is not allowed on {path}")
            if path == "/healthz":
                status = 200
                self.send_body(status, {"status": "ok", "model": MODEL_NAME})
            elif not self.in_flight.acquire(blocking=False):
                msg = "too many transcription requests at once; retry shortly"
                raise ApiError(429, msg, kind="rate_limit_error", code="rate_limit_exceeded")
            else:
                try:
                    status, extra = 200, self.transcription()
                finally:
                    self.in_flight.release()
        except ApiError as err:
            status = self.reject(err)
        path, ms = re.sub(r"[^!-~]", "?", path[:100]), (time.monotonic() - started) * 1000
        sys.stderr.write(f"local-stt: {self.command} {path} {status} {ms:.0f}ms{extra}\n")
        sys.stderr.flush()

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = route

    def reject(self, err):
        """Answers an error; returns its status. A client still uploading that gets an answer and
        then a closed socket sees a reset rather than the answer, so: read an unread body within the
        limit and keep the connection; if that fails, answer, stop writing and read what still
        comes for a while (a lingering close) before closing."""
        if self.body_read is None:
            try:
                self.read_body()
            except ApiError:
                pass
        if self.body_read:
            self.send_body(err.status, err.body())
            return err.status
        self.close_connection = True
        self.send_body(err.status, err.body())
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
        return err.status

    def read_body(self):
        """The body: of Content-Length bytes (none without one), or chunked, as the openai Node SDK
        sends a file given as a stream (fs.createReadStream, say)."""
        self.body_read = False
        if encoding := self.headers.get("Transfer-Encoding", "").strip().lower():
            if encoding != "chunked":
                raise bad_request(f"unsupported Transfer-Encoding {encoding[:20]!r}")
            body = self.read_chunked()
        else:
            length = self.headers.get("Content-Length", "0")
            if not length.isdigit():
                raise bad_request("invalid Content-Length")
            if int(length) > MAX_BODY_BYTES:
                raise ApiError(413, TOO_LARGE)
            if len(body := self.rfile.read(int(length))) != int(length):
                raise bad_request("the request body ended early")
        self.body_read = True
        return body

    def read_chunked(self):
        chunks, total = [], 0
        while True:
            line = self.rfile.readline(1024)
            size = line.split(b";", 1)[0].strip()
            if not line.endswith(b"\n") or not re.fullmatch(rb"[0-9A-Fa-f]{1,8}", size):
                raise bad_request("malformed chunked body")
            if (size := int(size, 16)) == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            if (total := total + size) > MAX_BODY_BYTES:
                raise ApiError(413, TOO_LARGE)
            chunks.append(self.rfile.read(size))
            if len(chunks[-1]) != size or self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise bad_request("malformed chunked body")

    def transcription(self):
        """Answers one transcription request (or raises ApiError); returns a suffix for its log line."""
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        if self.api_key is not None and not (
            scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode("utf-8"), self.api_key)
        ):
            raise ApiError(401, "Incorrect API key provided.", code="invalid_api_key")
        if self.headers.get_content_type() != "multipart/form-data" or not self.headers.get_boundary():
            raise bad_request("the request must be multipart/form-data with a boundary")
        fields = parse_form(self.headers["Content-Type"], self.read_body())
        language, prompt, response_format, temp, wav = form_options(fields, self.transcriber.languages)
        del fields
        audio, duration = decode_wav(wav)
        del wav
        if not np.any(np.abs(audio) >= SILENCE_PEAK):
            # Whisper "hears" words (e.g. "you") in pure silence; don't ask it.
            segments, waited, decoding = [], 0.0, 0.0
        else:
            try:
                segments, waited, decoding = self.transcriber.transcribe(audio, language, prompt, temp)
            except Exception as err:  # noqa: BLE001 - answered as OpenAI answers its own failures
                sys.stderr.write(f"local-stt: transcription failed: {type(err).__name__}: {err}\n")
                raise ApiError(500, "the transcription failed", kind="server_error") from None
        text = "".join(s.text for s in segments).strip()
        if response_format == "text":
            self.send_body(200, (text + "\n").encode("utf-8"), "text/plain; charset=utf-8")
        elif response_format == "verbose_json":
            found = [{"id": i, **{k: getattr(s, k) for k in SEGMENT_KEYS}} for i, s in enumerate(segments)]
            body = {"task": "transcribe", "language": language, "duration": round(duration, 3), "text": text}
            self.send_body(200, {**body, "segments": found})
        else:
            self.send_body(200, {"text": text})
        timing = f"audio={duration:.2f}s queued={waited * 1000:.0f}ms decode={decoding * 1000:.0f}ms"
        return f" {timing} lang={language} format={response_format}"


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def handle_error(self, request, client_address):
        # A dropped client is no error worth a traceback; anything else is logged once.
        err = sys.exc_info()[1]
        if not isinstance(err, (ConnectionError, TimeoutError)):
            sys.stderr.write(f"local-stt: error while handling a request: {type(err).__name__}: {err}\n")


def main(argv=None):
    env = os.environ
    p = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    p.add_argument("--host", default=env.get("LOCAL_STT_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(env.get("LOCAL_STT_PORT", "8000")))
    p.add_argument("--model-dir", default=env.get("LOCAL_STT_MODEL_DIR"), help="holds " + ", ".join(MODEL_FILES))
    threads = int(env.get("LOCAL_STT_THREADS", min(4, os.cpu_count() or 1)))
    p.add_argument("--threads", type=int, default=threads, help="CPU threads for one transcription (%(default)s)")
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
