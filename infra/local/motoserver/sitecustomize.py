# Loaded by the Python that runs moto_server (motoserver.Start puts this
# file's directory on PYTHONPATH). It fixes two ways in which moto 5.2.1's
# Secrets Manager differs from the real one, and which the tests depend on:
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
