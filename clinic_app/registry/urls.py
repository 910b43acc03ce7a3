from clinic.paths import SIGN_IN_PATH
from django.urls import path
from django.views.generic import RedirectView

from . import views, views_audit, views_lgpd, views_merge, views_species, views_staff

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="animal_list", permanent=False), name="home"),
    path("healthz", views.healthz, name="healthz"),
    path(SIGN_IN_PATH.lstrip("/"), views.LoginView.as_view(), name="login"),
    path("sair/", views.LogoutView.as_view(), name="logout"),
    path("animais/", views.animal_list, name="animal_list"),
    path("animais/exportar.csv", views.animal_export, name="animal_export"),
    path("animais/novo/", views.animal_create, name="animal_create"),
    path("animais/<int:pk>/", views.animal_detail, name="animal_detail"),
    path("animais/<int:pk>/editar/", views.animal_edit, name="animal_edit"),
    path("animais/<int:pk>/ficha/", views.animal_card, name="animal_card"),
    path("animais/<int:pk>/arquivar/", views.animal_archive, name="animal_archive"),
    path("animais/<int:pk>/reativar/", views.animal_reactivate, name="animal_reactivate"),
    path("tutores/", views.tutor_list, name="tutor_list"),
    path("tutores/novo/", views.tutor_create, name="tutor_create"),
    path("tutores/<int:pk>/", views.tutor_detail, name="tutor_detail"),
    path("tutores/<int:pk>/editar/", views.tutor_edit, name="tutor_edit"),
    path("animais/<int:pk>/mesclar/", views_merge.animal_merge, name="animal_merge"),
    path("tutores/<int:pk>/mesclar/", views_merge.tutor_merge, name="tutor_merge"),
    path("especies/", views_species.species_list, name="species_list"),
    path("especies/nova/", views_species.species_create, name="species_create"),
    path("especies/<slug:pk>/", views_species.species_edit, name="species_edit"),
    path("especies/<slug:pk>/racas/", views_species.breed_create, name="breed_create"),
    path("racas/<int:pk>/remover/", views_species.breed_delete, name="breed_delete"),
    # LGPD (registry.views_lgpd)
    path("tutores/<int:pk>/consentimento/", views_lgpd.consent_change, name="tutor_consent"),
    path("tutores/<int:pk>/dados/", views_lgpd.data_report, name="tutor_data_report"),
    path("tutores/<int:pk>/dados.json", views_lgpd.data_report_json, name="tutor_data_report_json"),
    path("tutores/<int:pk>/anonimizar/", views_lgpd.erase, name="tutor_erase"),
    path("api/animais/<int:pk>/fotos/presign", views.photo_presign, name="photo_presign"),
    path("api/animais/<int:pk>/fotos/confirm", views.photo_confirm, name="photo_confirm"),
    path("api/fotos/<str:photo_id>", views.photo_status, name="photo_status"),
    path("fotos/<str:photo_id>/principal", views.photo_set_primary, name="photo_set_primary"),
    path("fotos/<str:photo_id>/excluir", views.photo_delete, name="photo_delete"),
    # everyone's own password (a reset sends the person here until done)
    path("conta/senha/", views_staff.PasswordChangeView.as_view(), name="password_change"),
    # Administração (issue 16): staff accounts and the audit trail
    path("administracao/equipe/", views_staff.staff_list, name="staff_list"),
    path("administracao/equipe/nova/", views_staff.staff_create, name="staff_create"),
    path("administracao/equipe/<int:pk>/", views_staff.staff_edit, name="staff_edit"),
    path("administracao/equipe/<int:pk>/desativar/", views_staff.staff_deactivate, name="staff_deactivate"),
    path("administracao/equipe/<int:pk>/reativar/", views_staff.staff_reactivate, name="staff_reactivate"),
    path("administracao/equipe/<int:pk>/senha/", views_staff.staff_password, name="staff_password"),
    path("administracao/equipe/<int:pk>/desbloquear/", views_staff.staff_unlock, name="staff_unlock"),
    path("administracao/auditoria/", views_audit.audit_list, name="audit_list"),
]
