"""Provider connections replace the `provider` choice of assistants.

The settings of before become connections: `local` (the built-in provider), `openai`
(OPENAI_API_KEY, and OPENAI_BASE_URL while its base URL is blank) and `azure`
(AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY or Entra ID), all read from the environment
at run time, so nothing configured today changes. Each assistant gets the connection named
as its provider was.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Q

import chat.models

# Frozen here, as a migration must be: later changes to the app do not change what it did.
SEEDS = {
    "local": {"kind": "local", "auth": "api_key"},
    "openai": {"kind": "openai", "auth": "api_key", "api_key_env": "OPENAI_API_KEY"},
    "azure": {"kind": "azure", "auth": "key_or_entra_id", "api_key_env": "AZURE_OPENAI_API_KEY"},
}


def seed_connections(apps, schema_editor):
    Connection = apps.get_model("chat", "Connection")
    Assistant = apps.get_model("chat", "Assistant")
    for name, fields in SEEDS.items():
        connection, _ = Connection.objects.get_or_create(name=name, defaults=fields)
        Assistant.objects.filter(provider=name).update(connection=connection)


def unseed_connections(apps, schema_editor):
    Assistant = apps.get_model("chat", "Assistant")
    for assistant in Assistant.objects.select_related("connection"):
        kind = assistant.connection.kind
        assistant.provider = "azure" if kind == "foundry" else kind
        assistant.save(update_fields=["provider"])


class Migration(migrations.Migration):
    # The seeding commits before the columns change: PostgreSQL refuses to alter a table
    # with row updates still pending their deferred foreign key checks in one transaction.
    atomic = False

    dependencies = [("chat", "0004_files_and_code_tools")]

    operations = [
        migrations.CreateModel(
            name="Connection",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "name",
                    models.SlugField(
                        help_text="How assistants and commands refer to it.",
                        max_length=64,
                        unique=True,
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("openai", "OpenAI or compatible server"),
                            ("azure", "Azure OpenAI resource"),
                            ("foundry", "Azure AI Foundry project"),
                            ("local", "Built-in local provider"),
                        ],
                        default="openai",
                        max_length=16,
                    ),
                ),
                (
                    "base_url",
                    models.URLField(
                        blank=True,
                        help_text="OpenAI or compatible: the API root (…/v1). Azure OpenAI: the "
                        "resource endpoint (https://<resource>.openai.azure.com). Foundry: the "
                        "project endpoint (https://<resource>.services.ai.azure.com/api/projects/"
                        "<project>). Blank: OPENAI_BASE_URL (or api.openai.com), "
                        "AZURE_OPENAI_ENDPOINT, LOCAL_PROVIDER_BASE_URL.",
                        max_length=500,
                    ),
                ),
                (
                    "auth",
                    models.CharField(
                        choices=[
                            ("api_key", "API key"),
                            ("entra_id", "Microsoft Entra ID (azure-identity)"),
                            ("key_or_entra_id", "API key if one is set, else Microsoft Entra ID"),
                        ],
                        default="api_key",
                        max_length=16,
                        verbose_name="authentication",
                    ),
                ),
                (
                    "api_key_env",
                    models.CharField(
                        blank=True,
                        help_text="The environment variable holding the key, e.g. "
                        "OPENAI_API_KEY. Used when no key is stored here.",
                        max_length=128,
                        verbose_name="API key variable",
                    ),
                ),
                ("api_key_encrypted", models.TextField(blank=True, editable=False)),
                ("headers", models.JSONField(blank=True, default=dict, editable=False)),
                (
                    "default_model",
                    models.CharField(
                        blank=True,
                        help_text="For assistants with no model (on Azure: a deployment name). "
                        "Blank: OPENAI_CHAT_MODEL_ID, AZURE_OPENAI_CHAT_DEPLOYMENT_NAME, "
                        "LOCAL_PROVIDER_MODEL.",
                        max_length=256,
                    ),
                ),
                (
                    "api_version",
                    models.CharField(
                        blank=True,
                        help_text="Azure OpenAI only. Blank: AZURE_OPENAI_API_VERSION or a "
                        "recent version.",
                        max_length=32,
                    ),
                ),
                (
                    "timeout",
                    models.FloatField(
                        blank=True,
                        help_text="Seconds of silence allowed. Blank: PROVIDER_TIMEOUT.",
                        null=True,
                    ),
                ),
                (
                    "max_retries",
                    models.PositiveSmallIntegerField(
                        blank=True, help_text="Blank: PROVIDER_MAX_RETRIES.", null=True
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={"ordering": ["name"]},
        ),
        migrations.AddField(
            model_name="assistant",
            name="connection",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="assistants",
                to="chat.connection",
            ),
        ),
        migrations.RunPython(seed_connections, unseed_connections, atomic=True),
        migrations.RemoveConstraint(
            model_name="assistant", name="unique_remote_assistant_per_provider"
        ),
        migrations.RemoveField(model_name="assistant", name="provider"),
        migrations.AlterField(
            model_name="assistant",
            name="connection",
            field=models.ForeignKey(
                default=chat.models.default_connection,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="assistants",
                to="chat.connection",
            ),
        ),
        migrations.AddConstraint(
            model_name="assistant",
            constraint=models.UniqueConstraint(
                condition=~Q(remote_id=""),
                fields=("connection", "remote_id"),
                name="unique_remote_assistant_per_connection",
            ),
        ),
        migrations.AlterField(
            model_name="assistant",
            name="model",
            field=models.CharField(
                blank=True,
                help_text="The model (on Azure: the deployment name). Blank: the connection's "
                "default model.",
                max_length=256,
            ),
        ),
        migrations.AlterField(
            model_name="remotecleanup",
            name="provider",
            field=models.CharField(max_length=64),
        ),
        *(
            migrations.AlterField(
                model_name=model_name,
                name="remote_provider",
                field=models.CharField(blank=True, max_length=64),
            )
            for model_name in ("upload", "knowledgefile", "outputfile")
        ),
    ]
