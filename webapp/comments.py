"""Comments: (being built)."""
from flask import Blueprint

bp = Blueprint("comments", __name__)
