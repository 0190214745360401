"""Users, their roles and the area subtrees coordinators are scoped to."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    LEAD = "lead", _("Responsable")
    COORDINATOR = "coordinator", _("Coordinador/a")
    VOLUNTEER = "volunteer", _("Fiscal")


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
