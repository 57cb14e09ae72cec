"""Checklists: (being built)."""
from flask import Blueprint

bp = Blueprint("checklists", __name__)
