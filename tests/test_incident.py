"""Roles, signals and audiences are declared once (gameday/incident.py); every table keyed by them agrees."""

from __future__ import annotations

from typing import get_args

from gameday import incident
from gameday.facilitator.session import ROLE_ALIASES, ROLE_PROMPTS, SIGNAL_ALIASES
from gameday.scenario.model import ResponseStep


def test_each_role_and_signal_has_its_words_and_nothing_else_does() -> None:
    assert set(incident.ROLE_LABELS) == set(incident.ROLES) == set(ROLE_PROMPTS)
    assert set(incident.SIGNAL_WORDS) == set(incident.SIGNALS)


def test_the_facilitators_aliases_name_only_declared_roles_and_signals() -> None:
    assert set(ROLE_ALIASES.values()) == {*incident.ROLES, "done"}
    assert set(SIGNAL_ALIASES.values()) == set(incident.SIGNALS)


def test_a_scripted_response_accepts_exactly_the_declared_roles_and_audiences() -> None:
    role = ResponseStep.model_fields["role"].annotation
    audience = ResponseStep.model_fields["audience"].annotation
    assert set(get_args(get_args(role)[0])) == set(incident.ROLES)
    assert set(get_args(get_args(audience)[0])) == set(incident.AUDIENCES)
