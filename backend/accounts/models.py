"""Users, their roles, the area subtrees coordinators are scoped to, and volunteers' short sign-in links."""

import hashlib

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    LEAD = "lead", _("Responsable")
    COORDINATOR = "coordinator", _("Coordinador/a")
    VOLUNTEER = "volunteer", _("Fiscal")
    # Transcribes result sheets from photos in the areas of their scopes; sees nothing else.
    DATA_ENTRY = "data_entry", _("Carga de actas")


class User(AbstractUser):
    role = models.CharField(_("rol"), max_length=16, choices=Role.choices, default=Role.VOLUNTEER, db_index=True)
    phone = models.CharField(_("teléfono"), max_length=20, blank=True)
    language = models.CharField(
        _("idioma"), max_length=8, default="es-ar", choices=[("es-ar", "Español"), ("en", "English")]
    )

    class Meta:
        verbose_name = _("usuario")
        verbose_name_plural = _("usuarios")

    @property
    def is_lead(self) -> bool:
        return self.is_active and (self.is_superuser or self.role == Role.LEAD)

    @property
    def is_coordinator(self) -> bool:
        return self.is_active and self.role == Role.COORDINATOR


class CoordinatorScope(models.Model):
    """One area subtree a coordinator may see and change; a user may hold several."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="scopes", verbose_name=_("usuario"))
    area = models.ForeignKey(
        "elections.Area", on_delete=models.CASCADE, related_name="coordinator_scopes", verbose_name=_("área")
    )
    created_at = models.DateTimeField(_("creado"), auto_now_add=True)

    class Meta:
        verbose_name = _("alcance de coordinación")
        verbose_name_plural = _("alcances de coordinación")
        constraints = [models.UniqueConstraint(fields=["user", "area"], name="scope_unique_user_area")]

    def __str__(self) -> str:
        return f"{self.user} → {self.area}"


def link_key_hash(key: str) -> str:
    """What is stored of a link's key. The key is random and long: a plain hash is enough."""
    return hashlib.sha256(key.encode("ascii", "replace")).hexdigest()


class ShortLink(models.Model):
    """A random key (22 base-62 characters, 131 bits) that signs a volunteer in.

    Only the key's SHA-256 is stored: a copy of the table opens nobody's page. Each link expires
    (MAGIC_LINK_MAX_AGE) and a coordinator can revoke every link of a volunteer at once.
    """

    key_hash = models.CharField(_("huella de la clave"), max_length=64, unique=True)
    volunteer = models.ForeignKey(
        "volunteers.Volunteer", on_delete=models.CASCADE, related_name="short_links", verbose_name=_("fiscal")
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(_("creado"), auto_now_add=True)
    expires_at = models.DateTimeField(_("vence"))
    revoked_at = models.DateTimeField(_("revocado"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("enlace de acceso")
        verbose_name_plural = _("enlaces de acceso")
        indexes = [models.Index(fields=["volunteer", "revoked_at"], name="shortlink_volunteer")]

    def __str__(self) -> str:
        return f"{self.volunteer_id} {self.created_at:%Y-%m-%d %H:%M}"
