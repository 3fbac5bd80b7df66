"""Sealed values: secrets kept in the table encrypted (envelope encryption), so that an export, a
backup or a read of the raw items shows none of them.

`seal(plaintext, context)` encrypts a value with AES-256-GCM under a data key; `unseal(sealed,
context)` gives it back, and only with the same `context`. The context says what the value is,
e.g. `{"kind": "webhook", "id": "webhook_1", "attribute": "secret"}`: it is bound to the
ciphertext as AES-GCM's associated data, so a sealed value copied to another item or attribute
does not unseal there.

Each data key is made by a key-encryption key and stored, wrapped, with every value sealed under it:

- `kms` (TABLE_KEY_BACKEND, in AWS): kms:GenerateDataKey with the KMS key TABLE_KEY_ID (an ARN,
  key id or alias) makes it, kms:Decrypt unwraps it. KMS is given the context's `kind` (and this
  module's purpose) as its encryption context: a data key made for one kind of value does not
  unwrap as another, and CloudTrail shows which kind each Decrypt served. The rest of the context
  stays out of KMS so that one data key can serve many values.
- `local` (the local stack, tests): a 32-byte random key in TABLE_KEY_FILE, made with mode 0600
  on first use, wraps data keys with AES-256-GCM, binding the same encryption context.

Within a process, a data key seals the values of one kind for `DATA_KEY_SECONDS` or
`DATA_KEY_USES` seals, whichever comes first, each with a random 96-bit nonce: sealing rarely
calls KMS. Unwrapped data keys are kept (by their wrapped form, at most `UNWRAPPED_KEYS`) for as
long: unsealing rarely calls it either, and a revoked grant takes effect within that time.

The sealed form is `sealed:v1:` and the URL-safe base64 of: the wrapping (1 byte: 1 for KMS, 2
for the local key), the wrapped data key's length (2 bytes, big-endian), the wrapped data key,
the nonce (12 bytes), the AES-GCM ciphertext with its 16-byte tag. A value without that prefix
was stored before values were sealed: `unseal` gives it back as it is.

Guarantees: no error message holds a plaintext, a data key or a sealed value. `cryptography`
and the KMS client are loaded on the first seal or unseal of a sealed value, so a cold start
that unseals nothing does not pay for them.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import secrets
import struct
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from proactive import aws
from proactive.settings import get_settings

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "sealed:v1:"
# A data key seals for at most this long and this many values. Random 96-bit nonces stay far
# from a collision at this count (NIST bounds a key to 2**32 of them).
DATA_KEY_SECONDS = 3600.0
DATA_KEY_USES = 10_000
# Unwrapped data keys kept in a process (each is a KMS call saved on the next unseal).
UNWRAPPED_KEYS = 1024
KEY_BYTES = 32

KMS, LOCAL = 1, 2
_WRAPPINGS = {KMS: "the KMS key (TABLE_KEY_BACKEND=kms)", LOCAL: "a local key file (TABLE_KEY_BACKEND=local)"}
_NONCE_BYTES = 12
_TAG_BYTES = 16
_HEADER = struct.Struct(">BH")
# The part of a context KMS sees (with `_PURPOSE`): what scopes a data key.
_SCOPE_KEYS = ("kind",)
_PURPOSE = {"purpose": "proactive-sealed-value"}


class SealError(Exception):
    """A value cannot be sealed or unsealed: the key is not configured or not reachable, or the
    value was sealed with another key or for another context, or it is damaged. The message
    names the context and the cause, never a value."""


def is_sealed(value: object) -> bool:
    """Whether `value` is in the sealed form (rather than text stored before sealing)."""
    return isinstance(value, str) and value.startswith(PREFIX)


def _checked(context: Mapping[str, str]) -> dict[str, str]:
    if not all(isinstance(k, str) and k and isinstance(v, str) and v for k, v in context.items()):
        raise ValueError("a sealing context's keys and values must be non-empty text")
    return dict(context)


def _canonical(context: Mapping[str, str]) -> bytes:
    return json.dumps(dict(context), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _scope(context: Mapping[str, str]) -> dict[str, str]:
    return {**_PURPOSE, **{k: context[k] for k in _SCOPE_KEYS if k in context}}


def _described(context: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(context.items())) or "no context"


def _aead(key: bytes) -> AESGCM:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(key)


class Keyring(Protocol):
    """Where data keys come from: made and wrapped for a scope, unwrapped for the same scope."""

    wrapping: int

    def generate(self, scope: Mapping[str, str]) -> tuple[bytes, bytes]:
        """A new data key and its wrapped form."""
        ...

    def unwrap(self, wrapped: bytes, scope: Mapping[str, str]) -> bytes:
        """The data key `wrapped` holds; SealError if it was not wrapped here for `scope`."""
        ...


class KmsKeyring:
    """Data keys from a KMS key: GenerateDataKey (AES-256) and Decrypt, with `scope` as the
    encryption context. The client is made on first use."""

    wrapping = KMS

    def __init__(self, key_id: str, client: Any = None) -> None:
        self.key_id = key_id
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws.client("kms")
        return self._client

    def generate(self, scope: Mapping[str, str]) -> tuple[bytes, bytes]:
        try:
            made = self.client.generate_data_key(
                KeyId=self.key_id, KeySpec="AES_256", EncryptionContext=dict(scope)
            )
        except (BotoCoreError, ClientError) as exc:
            raise SealError(f"KMS key {self.key_id} made no data key: {exc}") from exc
        return bytes(made["Plaintext"]), bytes(made["CiphertextBlob"])

    def unwrap(self, wrapped: bytes, scope: Mapping[str, str]) -> bytes:
        try:
            # KeyId makes KMS refuse a data key wrapped by any other key.
            made = self.client.decrypt(
                CiphertextBlob=wrapped, KeyId=self.key_id, EncryptionContext=dict(scope)
            )
        except (BotoCoreError, ClientError) as exc:
            raise SealError(
                f"KMS key {self.key_id} did not unwrap the data key ({_described(scope)}): {exc}"
            ) from exc
        return bytes(made["Plaintext"])


class LocalKeyring:
    """Data keys wrapped with AES-256-GCM by a 32-byte key kept in a file, made (mode 0600) by the
    first process that needs it; every process that reads the same file reads the same values."""

    wrapping = LOCAL

    def __init__(self, path: Path) -> None:
        self.path = path
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def _kek(self) -> bytes:
        with self._lock:
            if self._key is None:
                self._key = _load_or_make(self.path)
            return self._key

    def generate(self, scope: Mapping[str, str]) -> tuple[bytes, bytes]:
        key = secrets.token_bytes(KEY_BYTES)
        nonce = secrets.token_bytes(_NONCE_BYTES)
        return key, nonce + _aead(self._kek()).encrypt(nonce, key, _canonical(scope))

    def unwrap(self, wrapped: bytes, scope: Mapping[str, str]) -> bytes:
        from cryptography.exceptions import InvalidTag

        try:
            nonce, body = wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:]
            return _aead(self._kek()).decrypt(nonce, body, _canonical(scope))
        except InvalidTag:
            raise SealError(
                f"the key in {self.path} (TABLE_KEY_FILE) did not unwrap the data key ({_described(scope)}): "
                "it was wrapped by another key file, or for another kind of value"
            ) from None


def _load_or_make(path: Path) -> bytes:
    """The key in `path`, made first if there is none. A new key is written whole to a file of
    its own and then linked into place, so a process racing to make it, or reading it meanwhile,
    never sees half a key, and the first one linked is the one every process uses."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        made = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(made, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(secrets.token_bytes(KEY_BYTES))
                handle.flush()
                os.fsync(handle.fileno())
            # Another process linked its key first: every process uses that one.
            with contextlib.suppress(FileExistsError):
                os.link(made, path)
        finally:
            made.unlink(missing_ok=True)
    key = path.read_bytes()
    if len(key) != KEY_BYTES:
        raise SealError(f"{path} (TABLE_KEY_FILE) does not hold a {KEY_BYTES}-byte key")
    return key


@dataclass
class _DataKey:
    key: bytes
    wrapped: bytes
    made_at: float
    uses: int = 0


class Sealer:
    """Seals and unseals with one keyring, keeping data keys as the module's docstring says.
    Safe to share between threads; KMS is called outside the lock."""

    def __init__(self, keyring: Keyring, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.keyring = keyring
        self._clock = clock
        self._lock = threading.Lock()
        self._sealing: dict[bytes, _DataKey] = {}
        self._unwrapped: OrderedDict[tuple[bytes, bytes], tuple[bytes, float]] = OrderedDict()

    def seal(self, plaintext: str, context: Mapping[str, str]) -> str:
        """`plaintext` sealed for `context` (whose keys and values are non-empty text)."""
        bound = _checked(context)
        data_key = self._data_key(_scope(bound))
        nonce = secrets.token_bytes(_NONCE_BYTES)
        body = _aead(data_key.key).encrypt(nonce, plaintext.encode(), _canonical(bound))
        blob = _HEADER.pack(self.keyring.wrapping, len(data_key.wrapped)) + data_key.wrapped + nonce + body
        return PREFIX + base64.urlsafe_b64encode(blob).decode("ascii")

    def unseal(self, sealed: str, context: Mapping[str, str]) -> str:
        """The plaintext of a value `seal` made for the same `context`; a value not in the sealed
        form, as it is. SealError when it does not unseal."""
        if not is_sealed(sealed):
            return sealed
        from cryptography.exceptions import InvalidTag

        bound = _checked(context)
        wrapping, wrapped, nonce, body = _parts(sealed, bound)
        if wrapping != self.keyring.wrapping:
            used = _WRAPPINGS.get(wrapping, "an unknown key")
            raise SealError(
                f"the value ({_described(bound)}) was sealed with {used}; "
                f"this process unseals with {_WRAPPINGS[self.keyring.wrapping]}"
            )
        key = self._unwrapped_key(wrapped, _scope(bound))
        try:
            return _aead(key).decrypt(nonce, body, _canonical(bound)).decode()
        except InvalidTag:
            raise SealError(
                f"the value ({_described(bound)}) does not unseal: it was sealed for another item or "
                "attribute, or it was changed"
            ) from None

    def _data_key(self, scope: Mapping[str, str]) -> _DataKey:
        """The data key sealing for `scope` now: the current one while it is fresh, a new one after."""
        name = _canonical(scope)
        with self._lock:
            current = self._sealing.get(name)
            if current is not None and self._fresh(current.made_at) and current.uses < DATA_KEY_USES:
                current.uses += 1
                return current
        key, wrapped = self.keyring.generate(scope)
        made = _DataKey(key, wrapped, self._clock(), uses=1)
        with self._lock:
            self._sealing[name] = made
            self._remember(wrapped, name, key, made.made_at)
        return made

    def _unwrapped_key(self, wrapped: bytes, scope: Mapping[str, str]) -> bytes:
        name = _canonical(scope)
        with self._lock:
            known = self._unwrapped.get((wrapped, name))
            if known is not None and self._fresh(known[1]):
                self._unwrapped.move_to_end((wrapped, name))
                return known[0]
        key = self.keyring.unwrap(wrapped, scope)
        with self._lock:
            self._remember(wrapped, name, key, self._clock())
        return key

    def _remember(self, wrapped: bytes, scope: bytes, key: bytes, at: float) -> None:
        self._unwrapped[(wrapped, scope)] = (key, at)
        self._unwrapped.move_to_end((wrapped, scope))
        while len(self._unwrapped) > UNWRAPPED_KEYS:
            self._unwrapped.popitem(last=False)

    def _fresh(self, made_at: float) -> bool:
        return self._clock() - made_at < DATA_KEY_SECONDS


def _parts(sealed: str, context: Mapping[str, str]) -> tuple[int, bytes, bytes, bytes]:
    damaged = SealError(f"the value ({_described(context)}) is not a whole sealed value")
    try:
        blob = base64.urlsafe_b64decode(sealed[len(PREFIX) :].encode("ascii"))
    except (binascii.Error, ValueError):
        raise damaged from None
    if len(blob) < _HEADER.size:
        raise damaged
    wrapping, length = _HEADER.unpack_from(blob)
    start = _HEADER.size + length
    if len(blob) < start + _NONCE_BYTES + _TAG_BYTES:
        raise damaged
    nonce_end = start + _NONCE_BYTES
    return wrapping, blob[_HEADER.size : start], blob[start:nonce_end], blob[nonce_end:]


_default_lock = threading.Lock()
_default: tuple[tuple[str, str | None, str], Sealer] | None = None


def default_sealer() -> Sealer:
    """The process's sealer, for the settings as they are (TABLE_KEY_BACKEND, TABLE_KEY_ID,
    TABLE_KEY_FILE): made on first use, and again when they change."""
    global _default
    settings = get_settings()
    config = (settings.table_key_backend, settings.table_key_id, settings.table_key_file)
    with _default_lock:
        if _default is None or _default[0] != config:
            _default = (config, Sealer(_keyring(*config)))
        return _default[1]


def _keyring(backend: str, key_id: str | None, key_file: str) -> Keyring:
    if backend == "kms":
        if not key_id:
            raise SealError("TABLE_KEY_ID is not set: with TABLE_KEY_BACKEND=kms it names the KMS key")
        return KmsKeyring(key_id)
    return LocalKeyring(Path(key_file))


def seal(plaintext: str, context: Mapping[str, str]) -> str:
    """`plaintext` sealed for `context` with the process's keys (`default_sealer`)."""
    return default_sealer().seal(plaintext, context)


def unseal(sealed: str, context: Mapping[str, str]) -> str:
    """The plaintext of a value sealed for `context`; a value not in the sealed form, as it is
    (without reading any setting or key). SealError when it does not unseal."""
    if not is_sealed(sealed):
        return sealed
    return default_sealer().unseal(sealed, context)
