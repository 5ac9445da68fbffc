# Loaded by the Python that runs moto_server (motoserver.Start puts this
# file's directory on PYTHONPATH). It fixes one way in which moto 5.2.1
# differs from Secrets Manager and which the rotation protocol depends on:
#
# UpdateSecretVersionStage moves the AWSCURRENT label, but moto keeps
# answering GetSecretValue without VersionId or VersionStage with the version
# it thinks is current (default_version_id), the one before the move.
# Secrets Manager answers with the version labelled AWSCURRENT. So after
# moving AWSCURRENT, the moved-to version becomes moto's default as well.
try:
    from moto.secretsmanager import models as _models
except Exception:  # not the Python that has moto: change nothing
    _models = None

if _models is not None:
    _update = _models.SecretsManagerBackend.update_secret_version_stage

    def _update_secret_version_stage(self, secret_id, version_stage, remove_from_version_id, move_to_version_id):
        result = _update(self, secret_id, version_stage, remove_from_version_id, move_to_version_id)
        if version_stage == "AWSCURRENT" and move_to_version_id:
            self.secrets[secret_id].set_default_version_id(move_to_version_id)
        return result

    _models.SecretsManagerBackend.update_secret_version_stage = _update_secret_version_stage
