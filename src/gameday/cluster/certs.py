"""The local cluster's keys and certificates, made once per state folder with ``cryptography``.

    ca.crt / ca.key             the cluster's own CA (10 years; it never leaves this machine)
    apiserver.crt / .key        serving certificate for 127.0.0.1 and localhost
    admin.crt / admin.key       client certificate in group system:masters (kubectl, the controllers, gameday)
    sa.key / sa.pub             the service-account token signing key pair
    apiserver-kubelet-client.crt / .key   the API server's client certificate at the kubelet (exec, logs)
    kubelet.crt / kubelet.key   the real node's kubelet serving certificate for 127.0.0.1, which the API
                                server checks against the CA (``--kubelet-certificate-authority``)

Every private key is written with mode 0600. The two kubelet pairs came later (issue 16): a state folder made
before them gets them signed by its existing CA, so a running cluster's CA is never replaced.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey
    from cryptography.x509 import Certificate, CertificateBuilder, Name

BASE_FILES = ("ca.crt", "ca.key", "apiserver.crt", "apiserver.key", "admin.crt", "admin.key", "sa.key", "sa.pub")
KUBELET_FILES = ("apiserver-kubelet-client.crt", "apiserver-kubelet-client.key", "kubelet.crt", "kubelet.key")
FILES = BASE_FILES + KUBELET_FILES
VALID_DAYS = 3650
KUBELET_CLIENT_NAME = "kube-apiserver-kubelet-client"
"""The API server's name at the kubelet (which authorizes every client the CA signed: AlwaysAllow)."""


def ensure_certs(folder: Path) -> None:
    """Write the files above into ``folder``: all of them if the CA set is incomplete, else only what is missing
    of the kubelet pairs, signed by the CA already there."""
    if not all((folder / name).is_file() for name in BASE_FILES):
        _make_base(folder)
    if not all((folder / name).is_file() for name in KUBELET_FILES):
        _make_kubelet_pairs(folder)


def _make_kubelet_pairs(folder: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca_key = serialization.load_pem_private_key((folder / "ca.key").read_bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey), "ensure_certs writes an EC key"
    ca_name = x509.load_pem_x509_certificate((folder / "ca.crt").read_bytes()).subject
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = _sign(x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, KUBELET_CLIENT_NAME),
                                            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters")]))
                   .public_key(client_key.public_key())
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False),
                   ca_name, ca_key)
    serving_key = ec.generate_private_key(ec.SECP256R1())
    serving = _sign(x509.CertificateBuilder()
                    .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gameday-node-0")]))
                    .public_key(serving_key.public_key())
                    .add_extension(x509.SubjectAlternativeName([
                        x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]), critical=False)
                    .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False),
                    ca_name, ca_key)
    _write_key(folder / "apiserver-kubelet-client.key", client_key)
    _write_cert(folder / "apiserver-kubelet-client.crt", client)
    _write_key(folder / "kubelet.key", serving_key)
    _write_cert(folder / "kubelet.crt", serving)


def _make_base(folder: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    folder.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gameday-local-ca")])
    ca = _sign(x509.CertificateBuilder().subject_name(ca_name).public_key(ca_key.public_key())
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                            content_commitment=False, key_encipherment=False, data_encipherment=False,
                                            key_agreement=False, encipher_only=False, decipher_only=False),
                              critical=True),
               ca_name, ca_key)
    serving_key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost"),
        x509.DNSName("kubernetes"), x509.DNSName("kubernetes.default"), x509.DNSName("kubernetes.default.svc"),
    ]
    serving = _sign(x509.CertificateBuilder()
                    .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
                    .public_key(serving_key.public_key())
                    .add_extension(x509.SubjectAlternativeName(names), critical=False)
                    .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False),
                    ca_name, ca_key)
    admin_key = ec.generate_private_key(ec.SECP256R1())
    admin = _sign(x509.CertificateBuilder()
                  .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gameday-admin"),
                                           x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters")]))
                  .public_key(admin_key.public_key())
                  .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False),
                  ca_name, ca_key)
    sa_key = ec.generate_private_key(ec.SECP256R1())
    _write_key(folder / "ca.key", ca_key)
    _write_cert(folder / "ca.crt", ca)
    _write_key(folder / "apiserver.key", serving_key)
    _write_cert(folder / "apiserver.crt", serving)
    _write_key(folder / "admin.key", admin_key)
    _write_cert(folder / "admin.crt", admin)
    _write_key(folder / "sa.key", sa_key)
    from cryptography.hazmat.primitives import serialization

    (folder / "sa.pub").write_bytes(sa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))


def _sign(builder: CertificateBuilder, issuer: Name, key: EllipticCurvePrivateKey) -> Certificate:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    now = datetime.datetime.now(datetime.UTC)
    return (builder.issuer_name(issuer).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
            .sign(key, hashes.SHA256()))


def _write_key(path: Path, key: EllipticCurvePrivateKey) -> None:
    from cryptography.hazmat.primitives import serialization

    data = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _write_cert(path: Path, cert: Certificate) -> None:
    from cryptography.hazmat.primitives import serialization

    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
