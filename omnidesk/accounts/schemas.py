from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from omnidesk.kit.types import RowId, Text

Role = Literal["admin", "supervisor", "agent"]


class AccountOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    link_phone_channels: bool = Field(
        default=True,
        description="The same phone number on SMS and WhatsApp reaches the same contact.",
    )
    created_at: datetime


class AccountUpdate(BaseModel):
    name: Text | None = Field(default=None, min_length=1, max_length=200)
    link_phone_channels: bool | None = Field(
        default=None,
        description="Link a WhatsApp sender to the contact who texted from the same number "
        "(and back). Applies to contacts created from now on.",
    )


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    name: str
    role: Role
    active: bool
    created_at: datetime
    last_login_at: datetime | None


class UserCreate(BaseModel):
    email: EmailStr
    name: Text = Field(min_length=1, max_length=200)
    role: Role = "agent"
    password: Text = Field(min_length=10, max_length=200)


class UserUpdate(BaseModel):
    name: Text | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None
    active: bool | None = None
    password: Text | None = Field(default=None, min_length=10, max_length=200)


class LoginIn(BaseModel):
    email: Text = Field(min_length=1, max_length=320)
    password: Text = Field(min_length=1, max_length=200)


class MeOut(BaseModel):
    user: UserOut
    account: AccountOut
    team_ids: list[int]
    csrf_token: str | None = Field(
        default=None, description="Send as X-CSRF-Token on unsafe requests made with the cookie."
    )


class TeamOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str
    member_ids: list[RowId] = []


class TeamCreate(BaseModel):
    name: Text = Field(min_length=1, max_length=100)
    description: Text = Field(default="", max_length=500)
    member_ids: list[RowId] = Field(default=[], max_length=1000)


class TeamUpdate(BaseModel):
    name: Text | None = Field(default=None, min_length=1, max_length=100)
    description: Text | None = Field(default=None, max_length=500)
    member_ids: list[RowId] | None = Field(default=None, max_length=1000)


class ApiTokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    user_id: int
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiTokenCreate(BaseModel):
    name: Text = Field(min_length=1, max_length=100)


class ApiTokenCreated(ApiTokenOut):
    token: str = Field(description="Shown once; only its hash is stored.")
