# Loaded by the Python that runs moto_server (motoserver.Start puts this
# file's directory on PYTHONPATH). It fixes two ways in which moto 5.2.1's
# Secrets Manager differs from the real one, and one of its KMS, which the
# tests depend on:
#
# 1. Concurrent requests. moto_server answers requests on threads, and every
#    lookup of a secret iterates over the dict of all secrets; a request that
#    runs while another creates a secret fails with HTTP 500 ("dictionary
#    changed size during iteration"), which the SDK retries, so that one
#    write reaches moto twice. Here each call into the Secrets Manager backend
#    holds one lock: moto serves them one at a time, as its single Python
#    thread (the GIL) mostly did anyway.
#
# 2. UpdateSecretVersionStage moves the AWSCURRENT label, but moto keeps
#    answering GetSecretValue without VersionId or VersionStage with the
#    version it thinks is current (default_version_id), the one before the
#    move. Secrets Manager answers with the version labelled AWSCURRENT. So
#    after moving AWSCURRENT, the moved-to version becomes moto's default too.
#
# 3. KMS Sign ignores MessageType DIGEST: it hashes the digest again, so no
#    signature of a digest verifies; and it signs RSASSA_PSS with the longest
#    salt, where KMS uses one as long as the hash (as JWS's PS256 wants).
#    Here a DIGEST message is signed as prehashed, and PSS salts are as long
#    as the hash.
import functools
import threading

try:
    from moto.secretsmanager import models as _models
except Exception:  # not the Python that has moto: change nothing
    _models = None

if _models is not None:
    _lock = threading.RLock()
    _backend = _models.SecretsManagerBackend

    def _serialized(method):
        @functools.wraps(method)
        def call(*args, **kwargs):
            with _lock:
                return method(*args, **kwargs)

        return call

    _update = _backend.update_secret_version_stage

    def _update_secret_version_stage(self, secret_id, version_stage, remove_from_version_id, move_to_version_id):
        result = _update(self, secret_id, version_stage, remove_from_version_id, move_to_version_id)
        if version_stage == "AWSCURRENT" and move_to_version_id:
            self.secrets[secret_id].set_default_version_id(move_to_version_id)
        return result

    _backend.update_secret_version_stage = _update_secret_version_stage
    for _name, _method in list(vars(_backend).items()):
        if callable(_method) and not _name.startswith("__"):
            setattr(_backend, _name, _serialized(_method))

try:
    from cryptography.hazmat.primitives import hashes as _hashes
    from cryptography.hazmat.primitives.asymmetric import ec as _ec, padding as _padding, utils as _asym
    from moto.kms import responses as _kms_responses, utils as _kms_utils
except Exception:  # not the Python that has moto: change nothing
    _kms_utils = None

if _kms_utils is not None:
    _digest = threading.local()
    _hash_of = {"256": _hashes.SHA256, "384": _hashes.SHA384, "512": _hashes.SHA512}

    def _algorithm(signing_algorithm):
        return _hash_of[str(signing_algorithm)[-3:]]()

    def _message(message, algorithm):
        return _asym.Prehashed(algorithm) if getattr(_digest, "on", False) else algorithm

    def _rsa_sign(self, message, signing_algorithm):
        _kms_utils.validate_signing_algorithm(signing_algorithm, _kms_utils.SigningAlgorithm.rsa_signing_algorithms())
        algorithm = _algorithm(signing_algorithm)
        if "PSS" in str(signing_algorithm):
            pad = _padding.PSS(mgf=_padding.MGF1(algorithm), salt_length=_padding.PSS.DIGEST_LENGTH)
        else:
            pad = _padding.PKCS1v15()
        return self.private_key.sign(message, pad, _message(message, algorithm))

    def _ecdsa_sign(self, message, signing_algorithm):
        _kms_utils.validate_signing_algorithm(signing_algorithm, self.valid_signing_algorithms)
        return self.private_key.sign(message, _ec.ECDSA(_message(message, _algorithm(signing_algorithm))))

    _kms_utils.RSAPrivateKey.sign = _rsa_sign
    _kms_utils.ECDSAPrivateKey.sign = _ecdsa_sign

    _sign = _kms_responses.KmsResponse.sign

    def _sign_response(self):
        _digest.on = self._get_param("MessageType") == "DIGEST"
        try:
            return _sign(self)
        finally:
            _digest.on = False

    _kms_responses.KmsResponse.sign = _sign_response
