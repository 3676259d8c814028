from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from bounceback.accounts.models import Team, User


@admin.register(User)
class StaffAdmin(UserAdmin):
    list_display = ["username", "email", "first_name", "last_name", "role", "team", "is_active"]
    list_filter = ["role", "team", "is_active"]
    fieldsets = (
        *UserAdmin.fieldsets,
        ("Bounceback", {"fields": ("role", "team", "site", "time_zone")}),
    )  # type: ignore[misc]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "lead"]
