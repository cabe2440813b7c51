"""The organisation's Ed25519 key signs each packet's `manifest.json`: a forged packet cannot re-hash its way to intact.

Hashes alone vouch only for themselves: anyone who changes a file can recompute the manifest.
A signature ties the manifest to a key the recipient already trusts. Ed25519 was chosen over
CMS/X.509 because it needs no certificate authority: the public key (`signer.pub.pem` in every
packet, and `listingwatch takedown key`) and its fingerprint are published, and anyone checks a
packet with stock OpenSSL::

    openssl pkeyutl -verify -pubin -inkey KEY.pem -rawin -in manifest.json -sigfile manifest.sig

The key is made on first use (mode 600) unless settings name one.
"""

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from core.errors import ConfigError
from core.settings import Settings


@dataclass(frozen=True)
class PublicKey:
    key: Ed25519PublicKey
    origin: str  # where it was read from, for messages

    @property
    def pem(self) -> bytes:
        return self.key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.key)


def fingerprint(key: Ed25519PublicKey) -> str:
    """SHA-256 of the DER SubjectPublicKeyInfo, as `SHA256:<base64>` (the form ssh-keygen prints)."""
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "SHA256:" + base64.b64encode(hashlib.sha256(der).digest()).decode().rstrip("=")


def key_path(settings: Settings) -> Path:
    return settings.takedown.signing_key or settings.var_dir / "takedown" / "signing-key.pem"


def _read_private(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as err:
        raise ConfigError(f"Signing key {path} cannot be read ({err.strerror}); check takedown.signing_key.") from None
    except (ValueError, TypeError) as err:
        raise ConfigError(f"Signing key {path} is not an unencrypted PEM private key ({err}).") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(
            f"Signing key {path} is not an Ed25519 key; make one with `openssl genpkey -algorithm ed25519`."
        )
    return key


def signing_key(settings: Settings) -> Ed25519PrivateKey:
    """The organisation's key; made (mode 600, never overwritten) when it does not exist and settings name none."""
    path = key_path(settings)
    if not path.exists() and settings.takedown.signing_key is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return _read_private(path)  # another process made it first
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
    return _read_private(path)


def read_public(path: Path) -> PublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except OSError as err:
        raise ConfigError(f"Public key {path} cannot be read ({err.strerror}); check the path.") from None
    except ValueError as err:
        raise ConfigError(f"{path} is not a PEM public key ({err}).") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError(f"{path} is not an Ed25519 public key.")
    return PublicKey(key, str(path))


def trusted_keys(settings: Settings, extra: list[Path] | None = None) -> list[PublicKey]:
    """The organisation's own key (if it exists; verifying never makes one), settings' list, and `extra`."""
    keys: list[PublicKey] = []
    own = key_path(settings)
    if own.exists():
        keys.append(PublicKey(_read_private(own).public_key(), f"own key {own}"))
    keys += [read_public(p) for p in [*settings.takedown.trusted_keys, *(extra or [])]]
    return keys


def sign(key: Ed25519PrivateKey, data: bytes) -> bytes:
    return key.sign(data)


def load_public_pem(pem: bytes) -> Ed25519PublicKey | None:
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError:
        return None
    return key if isinstance(key, Ed25519PublicKey) else None


def valid(key: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        key.verify(signature, data)
    except InvalidSignature:
        return False
    return True
