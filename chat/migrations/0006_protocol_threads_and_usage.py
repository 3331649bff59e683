# The protocol x thread choices, the context budget, and each reply's usage (issue 12).
# Depends on 0004 for now; re-pointed at 0005_provider_connections when that lands.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0005_provider_connections"),
    ]

    operations = [
        migrations.AddField(
            model_name="assistant",
            name="context_budget",
            field=models.PositiveIntegerField(
                default=8000,
                help_text="Where this site holds the thread (chat_completions, stateless responses): the most tokens of instructions and transcript sent each turn, estimated as characters / 4. Older messages beyond it are left out, and the reply says so.",
            ),
        ),
        migrations.AddField(
            model_name="assistant",
            name="responses_thread",
            field=models.CharField(
                choices=[
                    ("conversation", "A remote conversation (Conversations API)"),
                    ("stored", "A chain of stored responses (previous_response_id)"),
                    ("stateless", "On this site (the transcript is sent each turn)"),
                ],
                default="conversation",
                help_text="Where the thread of a `responses` assistant lives. Self-hosted servers rarely have conversations: choose stored responses, or stateless.",
                max_length=16,
                verbose_name="thread (responses)",
            ),
        ),
        migrations.AddField(
            model_name="message",
            name="input_tokens",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="message",
            name="model",
            field=models.CharField(blank=True, max_length=256),
        ),
        migrations.AddField(
            model_name="message",
            name="output_tokens",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="message",
            name="remote_response_id",
            field=models.CharField(blank=True, max_length=256),
        ),
        migrations.AlterField(
            model_name="assistant",
            name="protocol",
            field=models.CharField(
                choices=[
                    ("assistants", "Assistants API v2"),
                    ("responses", "Responses API"),
                    ("chat_completions", "Chat Completions API"),
                ],
                default="assistants",
                max_length=16,
            ),
        ),
    ]
