"""Sealed values: the format, the context binding, data keys' reuse, the local key file, and the
KMS path on moto."""

from __future__ import annotations

import base64
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from proactive import sealing
from proactive.sealing import KmsKeyring, LocalKeyring, Sealer, SealError

SECRET = "whsec_c2VjcmV0LXZhbHVlLW5vdC10by1iZS1zZWVu"
CONTEXT = {"kind": "webhook", "id": "webhook_1", "attribute": "secret"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Counting:
    """A keyring that counts what it is asked."""

    def __init__(self, inner: sealing.Keyring) -> None:
        self.inner = inner
        self.wrapping = inner.wrapping
        self.generated = 0
        self.unwrapped = 0

    def generate(self, scope: Any) -> tuple[bytes, bytes]:
        self.generated += 1
        return self.inner.generate(scope)

    def unwrap(self, wrapped: bytes, scope: Any) -> bytes:
        self.unwrapped += 1
        return self.inner.unwrap(wrapped, scope)


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    return tmp_path / "keys" / "table.key"


def test_a_sealed_value_has_the_versioned_form_and_unseals_with_its_context(key_file: Path) -> None:
    sealer = Sealer(LocalKeyring(key_file))
    sealed = sealer.seal(SECRET, CONTEXT)
    assert sealed.startswith("sealed:v1:")
    assert SECRET not in sealed
    blob = base64.urlsafe_b64decode(sealed.removeprefix("sealed:v1:"))
    assert blob[0] == sealing.LOCAL
    assert sealer.unseal(sealed, dict(reversed(CONTEXT.items()))) == SECRET  # order does not count
    # Each seal has its own nonce: the same value twice is two different texts.
    assert sealer.seal(SECRET, CONTEXT) != sealed


@pytest.mark.parametrize(
    "other",
    [
        {**CONTEXT, "id": "webhook_2"},
        {**CONTEXT, "attribute": "previous_secret"},
        {**CONTEXT, "kind": "agent"},
        {"kind": "webhook", "id": "webhook_1"},
    ],
)
def test_another_context_does_not_unseal_and_the_error_shows_no_value(
    key_file: Path, other: dict[str, str]
) -> None:
    sealer = Sealer(LocalKeyring(key_file))
    sealed = sealer.seal(SECRET, CONTEXT)
    with pytest.raises(SealError) as caught:
        sealer.unseal(sealed, other)
    assert SECRET not in str(caught.value)
    assert sealed.removeprefix("sealed:v1:")[:40] not in str(caught.value)


def test_a_value_stored_before_sealing_comes_back_as_it_is(key_file: Path) -> None:
    sealer = Sealer(LocalKeyring(key_file))
    assert sealer.unseal(SECRET, CONTEXT) == SECRET
    assert not key_file.exists()  # no key was needed to read it


@pytest.mark.parametrize("damage", ["truncate", "flip", "not-base64"])
def test_a_damaged_value_is_refused(key_file: Path, damage: str) -> None:
    sealer = Sealer(LocalKeyring(key_file))
    sealed = sealer.seal(SECRET, CONTEXT)
    body = sealed.removeprefix("sealed:v1:")
    if damage == "truncate":
        broken = sealed[: len(sealing.PREFIX) + 20]
    elif damage == "flip":
        raw = bytearray(base64.urlsafe_b64decode(body))
        raw[-1] ^= 1
        broken = sealing.PREFIX + base64.urlsafe_b64encode(bytes(raw)).decode()
    else:
        broken = sealing.PREFIX + "***"
    with pytest.raises(SealError):
        sealer.unseal(broken, CONTEXT)


def test_the_key_file_is_made_once_with_mode_0600_and_shared(key_file: Path) -> None:
    sealed = Sealer(LocalKeyring(key_file)).seal(SECRET, CONTEXT)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key_file.read_bytes()) == 32
    made = key_file.read_bytes()
    # Another process (another keyring on the same file) reads what the first one sealed.
    assert Sealer(LocalKeyring(key_file)).unseal(sealed, CONTEXT) == SECRET
    assert key_file.read_bytes() == made
    assert [p.name for p in key_file.parent.iterdir()] == ["table.key"]  # no file left behind


def test_another_key_file_does_not_unseal(tmp_path: Path) -> None:
    sealed = Sealer(LocalKeyring(tmp_path / "a.key")).seal(SECRET, CONTEXT)
    with pytest.raises(SealError, match="did not unwrap"):
        Sealer(LocalKeyring(tmp_path / "b.key")).unseal(sealed, CONTEXT)


def test_a_key_file_of_the_wrong_size_is_refused(key_file: Path) -> None:
    key_file.parent.mkdir(parents=True)
    key_file.write_bytes(b"short")
    with pytest.raises(SealError, match="32-byte key"):
        Sealer(LocalKeyring(key_file)).seal(SECRET, CONTEXT)


def test_a_data_key_serves_a_kind_until_it_is_too_old_or_too_used(
    key_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sealing, "DATA_KEY_USES", 3)
    clock = Clock()
    keyring = Counting(LocalKeyring(key_file))
    sealer = Sealer(keyring, clock=clock)
    for i in range(3):
        sealer.seal(SECRET, {**CONTEXT, "id": f"webhook_{i}"})
    assert keyring.generated == 1  # one data key for every webhook
    sealer.seal(SECRET, {**CONTEXT, "kind": "agent"})
    assert keyring.generated == 2  # another for another kind
    sealer.seal(SECRET, CONTEXT)
    assert keyring.generated == 3  # the webhooks' key sealed three values: a new one
    clock.now += sealing.DATA_KEY_SECONDS
    sealer.seal(SECRET, {**CONTEXT, "kind": "agent"})
    assert keyring.generated == 4  # the agents' key is an hour old: a new one
    assert keyring.unwrapped == 0


def test_unwrapped_data_keys_are_kept_until_they_are_too_old(key_file: Path) -> None:
    sealed = [Sealer(LocalKeyring(key_file)).seal(SECRET, {**CONTEXT, "id": f"w{i}"}) for i in range(3)]
    clock = Clock()
    keyring = Counting(LocalKeyring(key_file))
    reader = Sealer(keyring, clock=clock)
    for i, value in enumerate(sealed):
        assert reader.unseal(value, {**CONTEXT, "id": f"w{i}"}) == SECRET
    assert keyring.unwrapped == 3  # a new sealer per value above: three data keys
    reader.unseal(sealed[0], {**CONTEXT, "id": "w0"})
    assert keyring.unwrapped == 3
    clock.now += sealing.DATA_KEY_SECONDS
    reader.unseal(sealed[0], {**CONTEXT, "id": "w0"})
    assert keyring.unwrapped == 4


def test_a_context_must_be_non_empty_text(key_file: Path) -> None:
    with pytest.raises(ValueError, match="non-empty text"):
        Sealer(LocalKeyring(key_file)).seal(SECRET, {"kind": ""})


def test_the_module_functions_follow_the_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from proactive.settings import get_settings

    monkeypatch.setenv("TABLE_KEY_BACKEND", "local")
    monkeypatch.setenv("TABLE_KEY_FILE", str(tmp_path / "first.key"))
    get_settings.cache_clear()
    try:
        sealed = sealing.seal(SECRET, CONTEXT)
        assert sealing.unseal(sealed, CONTEXT) == SECRET
        assert (tmp_path / "first.key").exists()
        monkeypatch.setenv("TABLE_KEY_FILE", str(tmp_path / "second.key"))
        get_settings.cache_clear()
        with pytest.raises(SealError):
            sealing.unseal(sealed, CONTEXT)
        monkeypatch.setenv("TABLE_KEY_BACKEND", "kms")
        monkeypatch.delenv("TABLE_KEY_ID", raising=False)
        get_settings.cache_clear()
        with pytest.raises(SealError, match="TABLE_KEY_ID"):
            sealing.seal(SECRET, CONTEXT)
        assert sealing.unseal(SECRET, CONTEXT) == SECRET  # text in clear needs no key
    finally:
        get_settings.cache_clear()


def test_the_ingest_functions_cold_start_loads_no_cryptography() -> None:
    code = (
        "import sys\nfrom proactive.dev.local import load_handler\nload_handler('ingest')\n"
        "print(sorted(m for m in sys.modules if m.startswith('cryptography')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-1] == "[]"


# KMS, on moto ------------------------------------------------------------------------------------


@pytest.fixture
def kms() -> Iterator[tuple[Any, str]]:
    with mock_aws():
        client = boto3.client("kms", region_name="us-east-1")
        key_id = client.create_key(Description="table secrets")["KeyMetadata"]["KeyId"]
        client.create_alias(AliasName="alias/proactive-table", TargetKeyId=key_id)
        yield client, "alias/proactive-table"


class Calls:
    """The KMS client, counting GenerateDataKey and Decrypt calls."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.counts = {"generate_data_key": 0, "decrypt": 0}

    def generate_data_key(self, **kwargs: Any) -> Any:
        self.counts["generate_data_key"] += 1
        assert kwargs["KeySpec"] == "AES_256"
        assert kwargs["EncryptionContext"] == {"purpose": "proactive-sealed-value", "kind": "webhook"}
        return self.client.generate_data_key(**kwargs)

    def decrypt(self, **kwargs: Any) -> Any:
        self.counts["decrypt"] += 1
        return self.client.decrypt(**kwargs)


def test_the_kms_path_seals_with_a_data_key_kms_made_and_unwraps_it_once(kms: tuple[Any, str]) -> None:
    client, alias = kms
    calls = Calls(client)
    writer = Sealer(KmsKeyring(alias, calls))
    sealed = [writer.seal(f"{SECRET}{i}", {**CONTEXT, "id": f"webhook_{i}"}) for i in range(5)]
    assert calls.counts == {"generate_data_key": 1, "decrypt": 0}
    assert base64.urlsafe_b64decode(sealed[0].removeprefix("sealed:v1:"))[0] == sealing.KMS
    # The writer knows its own data key; another process asks KMS once for it.
    assert writer.unseal(sealed[0], {**CONTEXT, "id": "webhook_0"}) == f"{SECRET}0"
    reader = Sealer(KmsKeyring(alias, calls))
    for i, value in enumerate(sealed):
        assert reader.unseal(value, {**CONTEXT, "id": f"webhook_{i}"}) == f"{SECRET}{i}"
    assert calls.counts == {"generate_data_key": 1, "decrypt": 1}


def test_the_kms_path_refuses_a_wrong_context(kms: tuple[Any, str]) -> None:
    client, alias = kms
    sealed = Sealer(KmsKeyring(alias, client)).seal(SECRET, CONTEXT)
    # Another kind: KMS itself refuses to unwrap the data key (its encryption context differs).
    with pytest.raises(SealError, match="did not unwrap") as caught:
        Sealer(KmsKeyring(alias, client)).unseal(sealed, {**CONTEXT, "kind": "agent"})
    assert SECRET not in str(caught.value)
    # Another item of the kind: the data key unwraps, the value does not open.
    with pytest.raises(SealError, match="does not unseal"):
        Sealer(KmsKeyring(alias, client)).unseal(sealed, {**CONTEXT, "id": "webhook_2"})
    # Another key: KMS refuses a data key it did not wrap.
    other = client.create_key(Description="another")["KeyMetadata"]["KeyId"]
    with pytest.raises(SealError):
        Sealer(KmsKeyring(other, client)).unseal(sealed, CONTEXT)


def test_a_value_sealed_locally_is_refused_by_the_kms_path_with_a_reason(
    kms: tuple[Any, str], key_file: Path
) -> None:
    client, alias = kms
    sealed = Sealer(LocalKeyring(key_file)).seal(SECRET, CONTEXT)
    with pytest.raises(SealError, match="local key file"):
        Sealer(KmsKeyring(alias, client)).unseal(sealed, CONTEXT)


def test_kms_refusing_to_make_a_data_key_is_a_seal_error(kms: tuple[Any, str]) -> None:
    client, _ = kms
    with pytest.raises(SealError, match="made no data key"):
        Sealer(KmsKeyring("alias/no-such-key", client)).seal(SECRET, CONTEXT)
