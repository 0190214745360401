# The messaging models moved here from the sms app. Their tables keep their names (sms_*), so this
# migration only tells Django's state about them; sms.0003 forgets them on the sms side.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


MODELS = ["broadcast", "broadcastrecipient", "inboundmessage", "messagetemplate", "outboundmessage"]


def content_types_move(apps, schema_editor):
    """Keep admin log entries and permissions pointing at the same models under their new app."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="sms", model__in=MODELS).update(app_label="messaging")


def content_types_move_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="messaging", model__in=MODELS).update(app_label="sms")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('sms', '0002_broadcast_lifecycle'),
        ('elections', '0002_place_coordinates_both_or_neither'),
        ('notices', '0001_initial'),
        ('volunteers', '0002_volunteer_source_batch'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Broadcast',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('body', models.TextField(verbose_name='plantilla')),
                        ('segment', models.JSONField(blank=True, default=dict, verbose_name='segmento')),
                        ('transliterate', models.BooleanField(default=True, verbose_name='quitar tildes')),
                        ('status', models.CharField(choices=[('draft', 'Borrador'), ('pending_approval', 'Espera aprobación'), ('approved', 'Aprobada'), ('sending', 'Enviando'), ('done', 'Terminada'), ('cancelled', 'Cancelada')], default='draft', max_length=20, verbose_name='estado')),
                        ('recipient_count', models.PositiveIntegerField(default=0, verbose_name='destinatarios')),
                        ('segments_per_message', models.PositiveSmallIntegerField(default=1, verbose_name='segmentos por mensaje')),
                        ('estimated_cost', models.DecimalField(decimal_places=4, default=0, max_digits=12, verbose_name='costo estimado')),
                        ('currency', models.CharField(default='ARS', max_length=3, verbose_name='moneda')),
                        ('approved_at', models.DateTimeField(blank=True, null=True, verbose_name='aprobada')),
                        ('sent_at', models.DateTimeField(blank=True, null=True, verbose_name='envío pedido')),
                        ('queued_at', models.DateTimeField(blank=True, null=True, verbose_name='encolada')),
                        ('queued_count', models.PositiveIntegerField(default=0, verbose_name='mensajes encolados')),
                        ('stopped_count', models.PositiveIntegerField(default=0, verbose_name='mensajes detenidos')),
                        ('finished_at', models.DateTimeField(blank=True, null=True, verbose_name='terminada')),
                        ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='creada')),
                        ('approved_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('cancelled_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('created_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='broadcasts', to=settings.AUTH_USER_MODEL)),
                        ('election', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='broadcasts', to='elections.election')),
                        ('sent_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'verbose_name': 'envío masivo',
                        'verbose_name_plural': 'envíos masivos',
                        'db_table': 'sms_broadcast',
                        'ordering': ['-created_at'],
                    },
                ),
                migrations.CreateModel(
                    name='InboundMessage',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('sid', models.CharField(max_length=64, unique=True, verbose_name='MessageSid')),
                        ('from_number', models.CharField(max_length=32, verbose_name='de')),
                        ('to_number', models.CharField(blank=True, max_length=32, verbose_name='para')),
                        ('body', models.TextField(blank=True, verbose_name='texto')),
                        ('keyword', models.CharField(blank=True, max_length=16, verbose_name='palabra clave')),
                        ('reply', models.TextField(blank=True, verbose_name='respuesta')),
                        ('params', models.JSONField(blank=True, default=dict, verbose_name='datos de Twilio')),
                        ('received_at', models.DateTimeField(auto_now_add=True, verbose_name='recibido')),
                        ('handled_at', models.DateTimeField(blank=True, null=True, verbose_name='procesado')),
                        ('volunteer', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='sms_received', to='volunteers.volunteer')),
                    ],
                    options={
                        'verbose_name': 'SMS recibido',
                        'verbose_name_plural': 'SMS recibidos',
                        'db_table': 'sms_inboundmessage',
                        'ordering': ['-id'],
                    },
                ),
                migrations.CreateModel(
                    name='MessageTemplate',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('assignment', 'Asignación'), ('change', 'Cambio de lugar o mesa'), ('cancellation', 'Cancelación'), ('reminder', 'Recordatorio (días antes)'), ('reminder_eve', 'Recordatorio (la noche anterior)'), ('confirmation_received', 'Confirmación recibida'), ('decline_received', 'Rechazo recibido'), ('check_in_received', 'Presente recibido'), ('instruction', 'Instrucción'), ('announcement', 'Anuncio del hilo'), ('info', 'Respuesta a MESA'), ('no_assignment', 'Sin asignación'), ('help', 'Ayuda'), ('opt_out', 'Baja confirmada'), ('opt_in', 'Alta confirmada'), ('thread_received', 'Mensaje al hilo recibido'), ('not_election_day', 'Presente fuera del día de la elección'), ('unknown_number', 'Número desconocido')], max_length=32, unique=True, verbose_name='tipo')),
                        ('body', models.TextField(verbose_name='texto')),
                        ('transliterate', models.BooleanField(default=True, help_text='Convierte el texto a GSM-7: un SMS de 160 caracteres, no 70.', verbose_name='quitar tildes')),
                        ('updated_at', models.DateTimeField(auto_now=True, verbose_name='actualizado')),
                        ('updated_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'verbose_name': 'plantilla de SMS',
                        'verbose_name_plural': 'plantillas de SMS',
                        'db_table': 'sms_messagetemplate',
                        'ordering': ['kind'],
                    },
                ),
                migrations.CreateModel(
                    name='BroadcastRecipient',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('broadcast', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='recipients', to='messaging.broadcast')),
                        ('volunteer', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='volunteers.volunteer')),
                    ],
                    options={
                        'verbose_name': 'destinatario de envío masivo',
                        'verbose_name_plural': 'destinatarios de envíos masivos',
                        'db_table': 'sms_broadcastrecipient',
                        'constraints': [models.UniqueConstraint(fields=('broadcast', 'volunteer'), name='sms_broadcast_recipient_unique')],
                    },
                ),
                migrations.CreateModel(
                    name='OutboundMessage',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('to', models.CharField(max_length=20, verbose_name='para')),
                        ('body', models.TextField(verbose_name='texto')),
                        ('kind', models.CharField(choices=[('assignment', 'Asignación'), ('change', 'Cambio de lugar o mesa'), ('cancellation', 'Cancelación'), ('reminder', 'Recordatorio (días antes)'), ('reminder_eve', 'Recordatorio (la noche anterior)'), ('confirmation_received', 'Confirmación recibida'), ('decline_received', 'Rechazo recibido'), ('check_in_received', 'Presente recibido'), ('instruction', 'Instrucción'), ('announcement', 'Anuncio del hilo'), ('info', 'Respuesta a MESA'), ('no_assignment', 'Sin asignación'), ('help', 'Ayuda'), ('opt_out', 'Baja confirmada'), ('opt_in', 'Alta confirmada'), ('thread_received', 'Mensaje al hilo recibido'), ('not_election_day', 'Presente fuera del día de la elección'), ('unknown_number', 'Número desconocido')], max_length=32, verbose_name='tipo')),
                        ('status', models.CharField(choices=[('queued', 'En cola'), ('sending', 'Enviando'), ('sent', 'Enviado'), ('delivered', 'Entregado'), ('failed', 'Falló'), ('undelivered', 'No entregado'), ('cancelled', 'Detenido')], default='queued', max_length=12, verbose_name='estado')),
                        ('provider_status', models.CharField(blank=True, max_length=16, verbose_name='estado en Twilio')),
                        ('sid', models.CharField(blank=True, max_length=64, null=True, unique=True, verbose_name='SID')),
                        ('error_code', models.IntegerField(blank=True, null=True, verbose_name='código de error')),
                        ('error_message', models.CharField(blank=True, max_length=255, verbose_name='motivo')),
                        ('attempts', models.PositiveSmallIntegerField(default=0, verbose_name='intentos')),
                        ('segments', models.PositiveSmallIntegerField(default=1, verbose_name='segmentos')),
                        ('encoding', models.CharField(default='GSM-7', max_length=8, verbose_name='codificación')),
                        ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='creado')),
                        ('claimed_at', models.DateTimeField(blank=True, null=True, verbose_name='tomado por un worker')),
                        ('not_before', models.DateTimeField(blank=True, null=True, verbose_name='no antes de')),
                        ('sent_at', models.DateTimeField(blank=True, null=True, verbose_name='aceptado por Twilio')),
                        ('delivered_at', models.DateTimeField(blank=True, null=True, verbose_name='entregado')),
                        ('updated_at', models.DateTimeField(auto_now=True, verbose_name='actualizado')),
                        ('broadcast', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='messages', to='messaging.broadcast')),
                        ('notice', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='outbound', to='notices.notice')),
                        ('volunteer', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='sms_sent', to='volunteers.volunteer')),
                    ],
                    options={
                        'verbose_name': 'SMS enviado',
                        'verbose_name_plural': 'SMS enviados',
                        'db_table': 'sms_outboundmessage',
                        'ordering': ['-id'],
                        'indexes': [models.Index(fields=['status', 'id'], name='sms_out_status'), models.Index(fields=['broadcast', 'status'], name='sms_out_broadcast_status'), models.Index(condition=models.Q(('status', 'sending')), fields=['status', 'claimed_at'], name='sms_out_claimed')],
                        'constraints': [models.CheckConstraint(condition=models.Q(('status__in', ['queued', 'sending', 'sent', 'delivered', 'failed', 'undelivered', 'cancelled'])), name='sms_out_status_valid')],
                    },
                ),
            ],
            database_operations=[
                migrations.RunPython(content_types_move, content_types_move_back, elidable=True),
            ],
        ),
    ]
